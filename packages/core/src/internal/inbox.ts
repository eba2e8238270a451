import { abortReason } from "./signals.js";

interface Waiter<T> {
  resolve(value: T | undefined): void;
  reject(error: unknown): void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/**
 * The received-message queue of one socket. Unlike a plain async queue it lets a waiting `next`
 * be abandoned (deadline or abort) without losing the message that arrives later, and it lets
 * several callers wait at once (each gets its own message, in call order).
 *
 * `next` resolves `undefined` once the inbox ended and is empty; it rejects with the failure
 * once the inbox failed and is empty. `onLow` runs when the queue drains below its high-water
 * mark after a `push` returned false (used to resume reading from the network).
 */
export class Inbox<T> {
  private items: T[] = [];
  private head = 0;
  private waiters: Waiter<T>[] = [];
  private ended = false;
  private error: unknown;
  private high = false;

  constructor(
    private readonly highWaterMark: number,
    private readonly onLow: () => void,
  ) {}

  get size(): number {
    return this.items.length - this.head;
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** Adds an item; false when the queue is at its high-water mark (pause the producer). */
  push(item: T): boolean {
    if (this.ended) return true;
    const w = this.waiters.shift();
    if (w) {
      this.unlisten(w);
      w.resolve(item);
      return true;
    }
    this.items.push(item);
    if (this.size >= this.highWaterMark) {
      this.high = true;
      return false;
    }
    return true;
  }

  /** Ends the inbox normally (queued items are still delivered). */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.settleWaiters();
  }

  /** Fails the inbox: queued items are delivered, then every `next` rejects with `error`. */
  fail(error: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.error = error;
    this.settleWaiters();
  }

  /** The next item; `undefined` at the end. `signal` abandons the wait (rejecting with its reason). */
  next(signal?: AbortSignal, id = "go.micro.transport", what = "recv"): Promise<T | undefined> {
    if (this.size > 0) return Promise.resolve(this.shift() as T);
    if (this.ended) {
      return this.error === undefined ? Promise.resolve(undefined) : Promise.reject(this.error);
    }
    if (signal?.aborted) return Promise.reject(abortReason(id, what, signal));
    return new Promise<T | undefined>((resolve, reject) => {
      const w: Waiter<T> = { resolve, reject, signal, onAbort: undefined };
      if (signal) {
        w.onAbort = () => {
          const i = this.waiters.indexOf(w);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(abortReason(id, what, signal));
        };
        signal.addEventListener("abort", w.onAbort, { once: true });
      }
      this.waiters.push(w);
    });
  }

  /** The next queued item, taken at once; `undefined` when none is queued (ended or not). */
  shift(): T | undefined {
    if (this.size > 0) {
      const item = this.items[this.head] as T;
      this.items[this.head] = undefined as T;
      this.head++;
      if (this.head === this.items.length) {
        this.items = [];
        this.head = 0;
      } else if (this.head > 1024 && this.head * 2 > this.items.length) {
        this.items = this.items.slice(this.head);
        this.head = 0;
      }
      if (this.high && this.size < this.highWaterMark / 2 + 1) {
        this.high = false;
        this.onLow();
      }
      return item;
    }
    return undefined;
  }

  private unlisten(w: Waiter<T>): void {
    if (w.onAbort) w.signal?.removeEventListener("abort", w.onAbort);
  }

  private settleWaiters(): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) {
      this.unlisten(w);
      if (this.error === undefined) w.resolve(undefined);
      else w.reject(this.error);
    }
    if (this.high) {
      this.high = false;
      this.onLow();
    }
  }
}
