import type { IoOptions } from "@microts/core";
import { MicroError } from "@microts/core";
import { raceDeadline } from "@microts/core/internal";

/** The error id of every error this package raises. */
export const ID = "go.micro.broker";

/**
 * Runs `op` under the caller's signal and deadline (`io.timeoutMs`, else `defaultMs`). Redis
 * "ReplyError"s become 500, anything else that is not already a MicroError becomes 503 (unreachable).
 */
export function withDeadline<T>(
  what: string,
  io: IoOptions | undefined,
  defaultMs: number,
  op: () => Promise<T>,
): Promise<T> {
  return raceDeadline(ID, what, io, defaultMs, op, (err) => toMicroError(err, what));
}

/** Maps a Redis client error to a MicroError (see {@link withDeadline}). */
export function toMicroError(err: unknown, what: string): MicroError {
  if (err instanceof MicroError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof Error && err.name === "ReplyError") {
    return MicroError.internalServerError(ID, `${what}: redis: ${message}`, { cause: err });
  }
  return MicroError.serviceUnavailable(ID, `${what}: redis unreachable: ${message}`, { cause: err });
}

/** True for Redis' NOGROUP reply (the stream or its consumer group vanished, e.g. a wiped server). */
export function isNoGroup(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith("NOGROUP");
}
