import { AsyncLocalStorage } from "node:async_hooks";

/**
 * The subscription whose handler runs on the current async path. A broker's `unsubscribe` (and
 * `disconnect`) waits for the handler in progress to finish; a handler that itself awaits its own
 * subscription's `unsubscribe` would then wait for itself forever. Brokers run each handler call
 * through {@link runHandler} and skip that wait when {@link insideHandler} says the caller is
 * that handler, before or after any of its `await`s.
 */
const scope = new AsyncLocalStorage<object>();

/** Calls `fn(...args)` (one handler call of the subscription `owner`) with `owner` as its handler scope. */
export function runHandler<A extends unknown[], T>(owner: object, fn: (...args: A) => T, ...args: A): T {
  return scope.run(owner, fn, ...args);
}

/** Whether the caller runs inside a handler call that {@link runHandler} started for `owner`. */
export function insideHandler(owner: object): boolean {
  return scope.getStore() === owner;
}

/**
 * `work` (what `unsubscribe` or `disconnect` waits for: the handler call in progress, then acks and
 * closing), or a promise resolved at once when the caller is `owner`'s own handler call, which
 * `work` waits for. `work` then goes on by itself; a failure of it is ignored, as the caller no
 * longer waits for it.
 */
export function unlessInsideHandler(owner: object, work: Promise<unknown>): Promise<void> {
  if (insideHandler(owner)) {
    work.catch(() => {});
    return RESOLVED;
  }
  return work.then(noop);
}

const RESOLVED = Promise.resolve();
function noop(): void {}
