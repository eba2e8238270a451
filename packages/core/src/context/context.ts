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

/** The context of the handler currently running on this async path, if any. */
export function currentContext(): Context | undefined {
  return storage.getStore();
}

/** Runs `fn` with `ctx` as the current context (what the server does around each handler). */
export function runWithContext<T>(ctx: Context, fn: () => T): T {
  return storage.run(ctx, fn);
}

/** Milliseconds left until the context's deadline (never negative), or undefined without one. */
export function timeRemaining(ctx: Pick<Context, "deadline">): number | undefined {
  return ctx.deadline === undefined ? undefined : Math.max(0, ctx.deadline - Date.now());
}
