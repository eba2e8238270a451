import { performance } from "node:perf_hooks";

/** Longest polling window accepted, in milliseconds. */
const MAX_BUSY_POLL_MS = 1_000;

/** The longest window asked for since the last turn of {@link spin} (ms); 0: none. */
let asked = 0;
/** Until when (a `performance.now()` time, ms) the event loop keeps polling. */
let until = 0;
/** Whether a {@link spin} is queued. */
let spinning = false;

/**
 * Keeps the process's event loop polling for `windowMs` milliseconds (or longer, if another call
 * asked for longer) instead of sleeping while it waits for the network.
 *
 * A queued `setImmediate` makes libuv poll its sockets with a zero timeout, so the loop turns
 * without blocking; each turn queues the next until the window closes, then the loop sleeps as
 * usual. Called on each message sent or received, it keeps a busy connection's process awake
 * between messages, so that it reads the next one at once instead of being woken for it. On
 * virtual machines, waking a sleeping process costs tens of microseconds a message (loopback,
 * request/response one at a time: about 125 µs a call asleep and 30 to 40 µs polling, measured
 * with both ends polling on a 2-core VM).
 *
 * A call only notes the window: the clock is read once per turn of the loop, which opens the
 * window from there, not once per message. The price: while messages come at least every
 * `windowMs`, the process uses all of one core, and a process with nothing else to do lives up
 * to `windowMs` longer. Values above 1,000 are capped; 0 or less does nothing.
 */
export function keepPolling(windowMs: number): void {
  if (!(windowMs > asked)) return;
  asked = Math.min(windowMs, MAX_BUSY_POLL_MS);
  if (!spinning) {
    spinning = true;
    setImmediate(spin);
  }
}

function spin(): void {
  const now = performance.now();
  if (asked > 0) {
    if (now + asked > until) until = now + asked;
    asked = 0;
  }
  if (now < until) {
    setImmediate(spin);
  } else {
    spinning = false;
  }
}

/** True while the event loop is kept polling (for tests). */
export function isPolling(): boolean {
  return spinning;
}
