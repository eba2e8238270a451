/**
 * A single-consumer async queue: producers `push`, one consumer awaits `next()` or iterates.
 * `end()` finishes the queue normally, `fail(err)` makes every later `next()` reject.
 * Items pushed before `end`/`fail` are still delivered, in order.
 *
 * `highWaterMark` bounds memory: `push` returns false once that many items wait, and
 * `whenWritable()` resolves when the consumer has drained below it (backpressure).
 */
export class AsyncQueue<T> implements AsyncIterableIterator<T> {
  private readonly items: T[] = [];
  private head = 0;
  private waiter: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | undefined;
  private drainWaiters: Array<() => void> = [];
  private done = false;
  private error: unknown = undefined;

  constructor(readonly highWaterMark = Number.POSITIVE_INFINITY) {}

  /** Number of items waiting to be consumed. */
  get size(): number {
    return this.items.length - this.head;
  }

  /** True once `end` or `fail` was called. */
  get closed(): boolean {
    return this.done;
  }

  /** Adds an item; returns false when the queue is closed (item dropped) or above its high-water mark. */
  push(item: T): boolean {
    if (this.done) return false;
    const w = this.waiter;
    if (w) {
      this.waiter = undefined;
      w.resolve({ value: item, done: false });
      return true;
    }
    this.items.push(item);
    return this.size < this.highWaterMark;
  }

  /** Resolves when the queue is below its high-water mark (or closed). */
  whenWritable(): Promise<void> {
    if (this.done || this.size < this.highWaterMark) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Ends the queue: the consumer sees the remaining items, then `done`. */
  end(): void {
    if (this.done) return;
    this.done = true;
    this.settleWaiter();
  }

  /** Fails the queue: the consumer sees the remaining items, then the error. */
  fail(error: unknown): void {
    if (this.done) return;
    this.done = true;
    this.error = error ?? new Error("queue failed");
    this.settleWaiter();
  }

  next(): Promise<IteratorResult<T>> {
    if (this.size > 0) {
      const value = this.items[this.head] as T;
      this.items[this.head] = undefined as T;
      this.head++;
      if (this.head > 1024 && this.head * 2 > this.items.length) {
        this.items.splice(0, this.head);
        this.head = 0;
      }
      this.notifyDrain();
      return Promise.resolve({ value, done: false });
    }
    if (this.done) {
      return this.error === undefined
        ? Promise.resolve({ value: undefined, done: true })
        : Promise.reject(this.error);
    }
    if (this.waiter) return Promise.reject(new Error("AsyncQueue supports a single consumer"));
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<T>> {
    this.end();
    this.items.length = 0;
    this.head = 0;
    this.notifyDrain();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }

  private settleWaiter(): void {
    const w = this.waiter;
    this.waiter = undefined;
    if (w) {
      if (this.error === undefined) w.resolve({ value: undefined, done: true });
      else w.reject(this.error);
    }
    this.notifyDrain(true);
  }

  private notifyDrain(all = false): void {
    if (this.drainWaiters.length === 0) return;
    if (all || this.size < this.highWaterMark) {
      const ws = this.drainWaiters;
      this.drainWaiters = [];
      for (const w of ws) w();
    }
  }
}
