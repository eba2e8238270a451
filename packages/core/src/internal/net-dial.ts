import { connect, type Socket as NetSocket } from "node:net";
import { MicroError } from "../errors/micro-error.js";
import { formatHostPort, isWildcardHost, parseHostPort } from "./net-address.js";
import { abortReason } from "./signals.js";

/**
 * Opens a TCP connection to `host:port`, bounded by `timeoutMs` (0 or Infinity: no limit) and
 * `signal`. Rejects with MicroError 503 (refused, unreachable), 408 (timed out) or the signal's
 * reason (499 for a plain abort). `target` names the peer in error details; `id` is the errors' id.
 */
export function connectTcp(
  host: string,
  port: number,
  target: string,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  id = "go.micro.transport",
): Promise<NetSocket> {
  const what = `dial ${target}`;
  if (signal?.aborted) return Promise.reject(abortReason(id, what, signal));
  return new Promise<NetSocket>((resolve, reject) => {
    const sock = connect({ host, port });
    let timer: NodeJS.Timeout | undefined;
    const finish = (err: MicroError | undefined) => {
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      sock.off("error", onError);
      sock.off("connect", onConnect);
      if (err) {
        sock.destroy();
        reject(err);
      } else resolve(sock);
    };
    const onConnect = () => finish(undefined);
    const onError = (err: NodeJS.ErrnoException) => {
      const code = err.code ?? err.message;
      const detail = code === "ECONNREFUSED" ? "connection refused" : code;
      finish(MicroError.serviceUnavailable(id, `${what}: ${detail}`, { cause: err }));
    };
    const onAbort = () => finish(abortReason(id, what, signal));
    sock.once("connect", onConnect);
    sock.once("error", onError);
    signal?.addEventListener("abort", onAbort, { once: true });
    if (timeoutMs > 0 && timeoutMs !== Number.POSITIVE_INFINITY) {
      timer = setTimeout(
        () => finish(MicroError.timeout(id, `${what}: timed out after ${timeoutMs}ms`)),
        timeoutMs,
      );
    }
  });
}

/** Options for {@link dialTcp}. */
export interface TcpDialOptions {
  /** Dial timeout in ms (0 or Infinity: none). */
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  /** TCP_NODELAY. Default true. */
  noDelay?: boolean | undefined;
  /** Keep-alive probes, first after this many ms idle; 0 disables. Default 15 000. */
  keepAliveMs?: number | undefined;
  /** The errors' id. Default `go.micro.transport`. */
  id?: string | undefined;
}

/**
 * Dials a transport address (`host:port`, `[v6]:port`; a wildcard host means this machine,
 * 127.0.0.1) with {@link connectTcp}, then sets TCP_NODELAY and keep-alive. Resolves with the
 * connection and the `host:port` it reached; rejects as `connectTcp` does, or with 400 for a bad
 * address.
 */
export async function dialTcp(
  address: string,
  options: TcpDialOptions,
): Promise<{ sock: NetSocket; target: string }> {
  const id = options.id ?? "go.micro.transport";
  const parsed = parseHostPort(address, id);
  const host = isWildcardHost(parsed.host) ? "127.0.0.1" : parsed.host;
  const target = formatHostPort(host, parsed.port);
  const sock = await connectTcp(host, parsed.port, target, options.timeoutMs, options.signal, id);
  const keepAliveMs = options.keepAliveMs ?? 15_000;
  sock.setNoDelay(options.noDelay ?? true);
  sock.setKeepAlive(keepAliveMs > 0, keepAliveMs);
  return { sock, target };
}
