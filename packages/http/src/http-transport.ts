import type { Transport } from "@microts/core";
import { createNetTransport } from "@microts/core/internal";
import { HttpSocket, type SocketConfig } from "./http-socket.js";

/** Options for {@link createHttpTransport}. */
export interface HttpTransportOptions {
  /** Dial timeout in milliseconds, used when `dial` gets no `timeoutMs`. Default 5000 (Go's `DefaultDialTimeout`). */
  dialTimeoutMs?: number;
  /**
   * Largest header block (start line and headers) accepted in one message, in bytes. Larger
   * input closes the connection with MicroError 413. Default 65 536 (64 KiB).
   */
  maxHeaderBytes?: number;
  /** Largest message body accepted, in bytes; larger closes the connection with 413. Default 16 777 216 (16 MiB). */
  maxBodyBytes?: number;
  /**
   * Milliseconds a started message may take to deliver its complete header block, and the
   * longest gap allowed while its body arrives. Exceeding it closes the connection with
   * MicroError 408. Idle connections (no message started) are never timed out: Go clients keep
   * pooled connections for 60 s. Default 30 000; 0 disables.
   */
  headerTimeoutMs?: number;
  /** Disable Nagle's algorithm on every connection (TCP_NODELAY). Default true. */
  noDelay?: boolean;
  /** Enable TCP keep-alive probes (first probe after 15 s idle, like Go's dialer). Default true. */
  keepAlive?: boolean;
}

const KEEPALIVE_DELAY_MS = 15_000;

/**
 * Go Micro's default HTTP transport (`transport.NewHTTPTransport`), on raw TCP sockets with its
 * own HTTP/1.1 parser and writer. Every message is one `POST /` request (client to server) or
 * one `HTTP/1.1 200 OK` response (server to client) with a `Content-Length`; responses are not
 * paired with requests, so one connection carries unary calls and streams alike. Header names
 * are written in canonical MIME form (`Micro-Id`) and read as received; values are UTF-8.
 *
 * Addresses are `host:port`, `[v6]:port` or `:port`. Listening on port 0 picks a free port;
 * listening on every interface (`:0`, `0.0.0.0:0`) reports this machine's first non-internal
 * IPv4 address (Go's `addr.Extract`). TLS is not supported.
 *
 * Errors: dialling rejects with 503 (refused, unreachable), 408 (dial timeout) or 499 (aborted);
 * listening with 409 (address in use) or 400 (bad address). See {@link HttpTransportOptions} for
 * the limits that protect a listener from hostile input.
 */
export function createHttpTransport(options: HttpTransportOptions = {}): Transport {
  const dialTimeoutMs = options.dialTimeoutMs ?? 5_000;
  const cfg: SocketConfig = {
    maxHeaderBytes: options.maxHeaderBytes ?? 64 * 1024,
    maxBodyBytes: options.maxBodyBytes ?? 16 * 1024 * 1024,
    headerTimeoutMs: options.headerTimeoutMs ?? 30_000,
  };
  return createNetTransport({
    name: "http",
    dialTimeoutMs,
    noDelay: options.noDelay ?? true,
    keepAliveMs: (options.keepAlive ?? true) ? KEEPALIVE_DELAY_MS : 0,
    client: (sock, target) => new HttpSocket(sock, "client", cfg, target),
    server: (sock) => new HttpSocket(sock, "server", cfg),
  });
}
