import { MicroError } from "@microts/core";

/** The `id` of every MicroError this package raises (Go's broker errors carry none; this names the layer). */
export const ID = "go.micro.broker";

/**
 * Maps an amqplib or network error to a MicroError: AMQP 406 PRECONDITION_FAILED (a queue or exchange
 * exists with other properties) → 409, 403 ACCESS_REFUSED → 403, 404 NOT_FOUND → 404, everything else
 * (refused connections, closed channels, lost sockets) → 503. MicroErrors pass through.
 */
export function amqpError(err: unknown, what: string): MicroError {
  if (err instanceof MicroError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const code =
    typeof err === "object" && err !== null && "code" in err ? (err as { code: unknown }).code : undefined;
  const detail = `${what}: ${message}`;
  if (code === 406) return MicroError.conflict(ID, detail, { cause: err });
  if (code === 403 || /ACCESS[-_]REFUSED/.test(message))
    return MicroError.forbidden(ID, detail, { cause: err });
  if (code === 404) return MicroError.notFound(ID, detail, { cause: err });
  return MicroError.serviceUnavailable(ID, detail, { cause: err });
}
