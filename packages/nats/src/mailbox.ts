import type { IoOptions } from "@microts/core";
import { deadlineSignal, raceSignal } from "@microts/core/internal";

interface Waiter<T> {
  resolve(r: IteratorResult<T>): void;
  reject(e: unknown): void;
}

/**
 * Inbound messages of one socket. Unlike a plain queue, a `take` that times out or is aborted
 * leaves no stale waiter behind (the next message goes to the next taker), and several takers may
 * wait at once. `end()` lets takers drain what is queued, then report done; `fail(err)` does the
 * same but makes takers reject with `err`.
 */
export class Mailbox<T> {
  private readonly items: T[] = [];
  private readonly waiters: Waiter<T>[] = [];
  private finished = false;
  private error: unknown = undefined;

  get closed(): boolean {
    return this.finished;
  }

  push(item: T): boolean {
    if (this.finished) return false;
    const w = this.waiters.shift();
    if (w) w.resolve({ value: item, done: false });
    else this.items.push(item);
    return true;
  }

  end(): void {
    this.finish(undefined);
  }

  fail(error: unknown): void {
    this.finish(error ?? new Error("mailbox failed"));
  }

  /**
   * An async iterator over the items: `done` once ended or failed (the failure is not thrown;
   * the owner reports it elsewhere). Cheaper than an async generator around `take`.
   */
  iterator(): AsyncIterableIterator<T> {
    const next = (): Promise<IteratorResult<T>> => {
      if (this.items.length > 0) return Promise.resolve({ value: this.items.shift() as T, done: false });
      if (this.finished) return Promise.resolve({ value: undefined, done: true });
      return this.take().catch(() => ({ value: undefined, done: true }));
    };
    const it: AsyncIterableIterator<T> = {
      next,
      return: () => Promise.resolve({ value: undefined, done: true }),
      [Symbol.asyncIterator]: () => it,
    };
    return it;
  }

  /** The next queued item, taken at once; `undefined` when none is queued. */
  poll(): T | undefined {
    return this.items.length > 0 ? this.items.shift() : undefined;
  }

  /** The next item; `done` once ended. Rejects with the failure, or the signal's MicroError. */
  take(options: IoOptions = {}, id = "go.micro.transport", what = "recv"): Promise<IteratorResult<T>> {
    if (this.items.length > 0) return Promise.resolve({ value: this.items.shift() as T, done: false });
    if (this.finished) {
      return this.error === undefined
        ? Promise.resolve({ value: undefined, done: true })
        : Promise.reject(this.error);
    }
    let waiter: Waiter<T> | undefined;
    const p = new Promise<IteratorResult<T>>((resolve, reject) => {
      waiter = { resolve, reject };
      this.waiters.push(waiter);
    });
    if (!options.signal && options.timeoutMs === undefined) return p;
    const d = deadlineSignal(id, what, options.signal, options.timeoutMs);
    return raceSignal(p, d.signal, id, what).finally(() => {
      d.cleanup();
      // Timed out or aborted: withdraw, so a later message is not handed to nobody.
      const i = waiter ? this.waiters.indexOf(waiter) : -1;
      if (i >= 0) this.waiters.splice(i, 1);
    });
  }

  private finish(error: unknown): void {
    if (this.finished) return;
    this.finished = true;
    this.error = error;
    const ws = this.waiters.splice(0);
    for (const w of ws) {
      if (error === undefined) w.resolve({ value: undefined, done: true });
      else w.reject(error);
    }
  }
}
