import type { Context } from "../context/context.js";
import { currentContext } from "../context/context.js";
import { deadlineSignal } from "../internal/signals.js";
import { Metadata, type MetadataInit } from "../metadata/metadata.js";
import { isHopHeader } from "../rpc/headers.js";

/** The resolved budget and cancellation of one call, inherited from the running handler. */
export interface CallScope {
  signal: AbortSignal;
  /** Absolute deadline (epoch ms) or undefined for none. */
  deadline: number | undefined;
  metadata: Metadata;
  cleanup(): void;
}

/**
 * Combines the caller's options with the current handler context: the caller's metadata flows on
 * (minus hop-by-hop headers), the deadline never exceeds what the handler has left, and the
 * handler's cancellation cancels the call.
 */
export function callScope(
  what: string,
  options: {
    signal?: AbortSignal | undefined;
    timeoutMs?: number | undefined;
    metadata?: MetadataInit | undefined;
  },
  defaultTimeoutMs: number | undefined,
  ctx: Context | undefined = currentContext(),
): CallScope {
  let timeout = options.timeoutMs ?? defaultTimeoutMs;
  if (ctx?.deadline !== undefined) {
    const left = ctx.deadline - Date.now();
    timeout = timeout === undefined ? left : Math.min(timeout, left);
  }
  const signals = [options.signal, ctx?.signal].filter((s): s is AbortSignal => s !== undefined);
  const parent = signals.length > 1 ? AbortSignal.any(signals) : signals[0];
  const d = deadlineSignal("go.micro.client", what, parent, timeout);
  const metadata = new Metadata();
  if (ctx) for (const [k, v] of ctx.metadata) if (!isHopHeader(k)) metadata.set(k, v);
  if (options.metadata) metadata.merge(options.metadata);
  return {
    signal: d.signal,
    deadline: timeout === undefined ? undefined : Date.now() + timeout,
    metadata,
    cleanup: d.cleanup,
  };
}
