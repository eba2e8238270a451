/**
 * What a transport socket's `send` returns once the message is queued for writing and nothing can
 * fail that send any more (a connection lost later shows where replies are read). Callers that
 * see it have nothing to wait for and no rejection to handle: the RPC client then attaches no
 * handler, which saves it a closure, a promise and a microtask per call.
 */
export const SENT: Promise<void> = Promise.resolve();
