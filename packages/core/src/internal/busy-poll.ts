import { performance } from "node:perf_hooks";

/** Longest polling window accepted, in milliseconds. */
export const MAX_BUSY_POLL_MS = 1_000;

/** Until when (a `performance.now()` time, ms) the event loop keeps polling; 0: not polling. */
let until = 0;
/** Whether a {@link spin} is queued. */
let spinning = false;

/**
 * Keeps the process's event loop polling for `windowMs` milliseconds from now (or longer, if an
 * earlier call asked for longer) instead of sleeping while it waits for the network.
 *
 * A queued `setImmediate` makes libuv poll its sockets with a zero timeout, so the loop turns
 * without blocking; each turn queues the next until the window closes, then the loop sleeps as
 * usual. Called on each message sent or received, it keeps a busy connection's process awake
 * between messages, so that it reads the next one at once instead of being woken for it. On
 * virtual machines, waking a sleeping process costs tens of microseconds a message (loopback,
 * request/response one at a time: about 125 µs a call asleep and 30 to 40 µs polling, measured
 * with both ends polling on a 2-core VM).
 *
 * The price: while messages come at least every `windowMs`, the process uses all of one core,
 * and a process with nothing else to do lives up to `windowMs` longer. Values above
 * {@link MAX_BUSY_POLL_MS} are capped; 0 or less does nothing.
 */
export function keepPolling(windowMs: number): void {
  if (!(windowMs > 0)) return;
  const end = performance.now() + Math.min(windowMs, MAX_BUSY_POLL_MS);
  if (end > until) until = end;
  if (!spinning) {
    spinning = true;
    setImmediate(spin);
  }
}

function spin(): void {
  if (performance.now() < until) {
    setImmediate(spin);
  } else {
    spinning = false;
    until = 0;
  }
}

/** True while the event loop is kept polling (for tests). */
export function isPolling(): boolean {
  return spinning;
}
