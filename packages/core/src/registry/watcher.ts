import { MicroError } from "../errors/micro-error.js";
import { AsyncQueue } from "../internal/async-queue.js";
import type { RegistryEvent, Watcher } from "./registry.js";

/**
 * Builds a Watcher from a subscribe function: `subscribe(push)` starts delivering events and
 * returns the function that stops it. Registries share this so every watcher stops the same way.
 * Events beyond `highWaterMark` unconsumed ones are dropped oldest-last (the watcher never grows
 * without bound); consumers that fall that far behind should re-list.
 */
export function createWatcher(
  subscribe: (push: (e: RegistryEvent) => void) => () => void,
  signal?: AbortSignal,
  highWaterMark = 10_000,
): Watcher {
  const queue = new AsyncQueue<RegistryEvent>();
  let unsubscribe: (() => void) | undefined;
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    unsubscribe?.();
    signal?.removeEventListener("abort", stop);
    queue.end();
  };
  unsubscribe = subscribe((e) => {
    if (queue.size < highWaterMark) queue.push(e);
  });
  if (signal) {
    if (signal.aborted) stop();
    else signal.addEventListener("abort", stop, { once: true });
  }
  return {
    async next() {
      const r = await queue.next();
      if (r.done) throw MicroError.serviceUnavailable("go.micro.registry", "watcher stopped");
      return r.value;
    },
    stop,
    [Symbol.asyncIterator]() {
      // Leaving a for-await loop (break, throw) stops the watch, releasing its subscription.
      return {
        next: () => queue.next(),
        return: async () => {
          stop();
          return { value: undefined, done: true as const };
        },
        [Symbol.asyncIterator]() {
          return this;
        },
      };
    },
    async [Symbol.asyncDispose]() {
      stop();
    },
  };
}
