import { AsyncLocalStorage } from "node:async_hooks";
import type { Metadata } from "../metadata/metadata.js";

/**
 * What a handler or subscriber receives besides its request: who called, with what metadata,
 * until when, and a signal that fires when the deadline passes or the caller goes away.
 *
 * Calls made through a micro-ts client while a handler runs pick this context up by themselves
 * (AsyncLocalStorage): they forward the caller's metadata (minus routing headers) and never get a
 * longer deadline than what remains of this one.
 */
export interface Context {
  /** Name of the service handling the request. */
  readonly service: string;
  /** `Type.Method` for RPCs, the topic for events. */
  readonly endpoint: string;
  /** The caller's metadata, all transport headers included, looked up case-insensitively. */
  readonly metadata: Metadata;
  /** Absolute deadline in epoch milliseconds, or undefined when the caller set none. */
  readonly deadline: number | undefined;
  /** Aborts when the deadline passes, the caller cancels or disconnects, or the server force-stops. */
  readonly signal: AbortSignal;
  /** Address of the caller's end of the connection, when the transport knows it. */
  readonly remote?: string | undefined;
  /** Address of this end of the connection, when the transport knows it. */
  readonly local?: string | undefined;
}

const storage = new AsyncLocalStorage<Context>();

/**
 * Whether handlers run inside {@link storage}. An AsyncLocalStorage in use turns on Node's promise
 * hooks for the whole process (Node 20), which made every `await` of the process, the user's own
 * code included, about twice as slow. So a process pays for it only once something can read the
 * context back: a client exists ({@link propagateContext}) or {@link currentContext} was called.
 * Until then a server that makes no calls runs its handlers without it.
 */
let propagating = false;
/** The context of the handler whose synchronous part is running, while {@link propagating} is off. */
let syncContext: Context | undefined;

/**
 * The context of the handler currently running on this async path, if any. Calls made from
 * handlers see it after `await`s too, once the process has a client (or once this was first
 * called: a handler that had already started by then is seen only until its first `await`).
 */
export function currentContext(): Context | undefined {
  if (!propagating) {
    propagating = true;
    return syncContext;
  }
  return storage.getStore() ?? syncContext;
}

/**
 * From now on, handlers run with their context on their whole async path, so that calls they make
 * inherit it. `createClient` calls this: create clients before the server takes requests (as
 * `createService` does), or the requests already in progress do not pass their context on.
 */
export function propagateContext(): void {
  propagating = true;
}

/** Runs `fn` with `ctx` as the current context (what the server does around each handler). */
export function runWithContext<T>(ctx: Context, fn: () => T): T {
  if (propagating) return storage.run(ctx, fn);
  const outer = syncContext;
  syncContext = ctx;
  try {
    return fn();
  } finally {
    syncContext = outer;
  }
}

/** Milliseconds left until the context's deadline (never negative), or undefined without one. */
export function timeRemaining(ctx: Pick<Context, "deadline">): number | undefined {
  return ctx.deadline === undefined ? undefined : Math.max(0, ctx.deadline - Date.now());
}
