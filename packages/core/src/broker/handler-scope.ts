import { AsyncLocalStorage } from "node:async_hooks";

/**
 * The subscription whose handler runs on the current async path. A broker's `unsubscribe` (and
 * `disconnect`) waits for the handler in progress to finish; a handler that itself awaits its own
 * subscription's `unsubscribe` would then wait for itself forever. Brokers run each handler call
 * through {@link runHandler} and skip that wait when {@link insideHandler} says the caller is
 * that handler, before or after any of its `await`s.
 */
const scope = new AsyncLocalStorage<object>();

/** Calls `fn` (one handler call of the subscription `owner`) with `owner` as its handler scope. */
export function runHandler<T>(owner: object, fn: () => T): T {
  return scope.run(owner, fn);
}

/** Whether the caller runs inside a handler call that {@link runHandler} started for `owner`. */
export function insideHandler(owner: object): boolean {
  return scope.getStore() === owner;
}
