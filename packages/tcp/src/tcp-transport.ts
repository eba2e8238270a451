import type { Transport } from "@microts/core";
import { createNetTransport } from "@microts/core/internal";
import { TcpSocket, type TcpSocketConfig } from "./tcp-socket.js";

/** Options for {@link createTcpTransport}. */
export interface TcpTransportOptions {
  /** Dial timeout in milliseconds, used when `dial` gets no `timeoutMs`. Default 5000. */
  dialTimeoutMs?: number;
  /**
   * Largest header block of one message, in bytes, as encoded. A larger incoming one closes the
   * connection with MicroError 413; a larger outgoing one makes `send` reject with 413 (nothing is
   * sent). Default 65 536 (64 KiB).
   */
  maxHeaderBytes?: number;
  /**
   * Largest message body, in bytes. A larger incoming one closes the connection with 413 (the
   * frame's length is checked before its bytes are buffered); a larger outgoing one makes `send`
   * reject with 413. Default 16 777 216 (16 MiB).
   */
  maxBodyBytes?: number;
  /**
   * Milliseconds a frame that began arriving may wait for its next bytes. Exceeding it closes the
   * connection with MicroError 408. Idle connections (no frame begun) never time out. Default
   * 30 000; 0 disables.
   */
  frameTimeoutMs?: number;
  /** Disable Nagle's algorithm on every connection (TCP_NODELAY). Default true. */
  noDelay?: boolean;
  /** Enable TCP keep-alive probes (first probe after 15 s idle). Default true. */
  keepAlive?: boolean;
  /**
   * Milliseconds, from each message sent or received, during which the process keeps polling its
   * connections instead of sleeping until the network wakes it: latency for CPU. A process that
   * waits for each reply before its next request (low concurrency) then reads its replies, and
   * a server its requests, without being woken for them, which on a virtual machine takes tens of
   * microseconds per message. While messages keep coming within the window, the process uses a
   * whole core; when they stop, it sleeps again after the window. It applies to the whole
   * process (every connection, any transport), and to both ends only if both set it. Fractions
   * are allowed (0.2 = 200 µs); at most 1 000. Default 0: off.
   */
  busyPollMs?: number;
}

const KEEPALIVE_DELAY_MS = 15_000;

/**
 * The micro-ts TCP transport: the fastest way for micro-ts services to call each other. Each
 * message is one length-prefixed binary frame; header names and values that repeat from message
 * to message travel as one-byte references, and are read back without decoding a string.
 * Messages sent in the same tick leave in one write. One connection carries unary calls and
 * streams alike, as the HTTP transport's do.
 *
 * It speaks micro-ts only: Go Micro has no such transport, so use the default HTTP transport
 * (or NATS) where Go services call or are called. A server registers `transport: tcp` in its
 * node metadata. An HTTP client that dials a TCP-transport port gets a `400 Bad Request` saying
 * so; a TCP-transport client that dials any other server fails with 400.
 *
 * Addresses are `host:port`, `[v6]:port` or `:port`. Listening on port 0 picks a free port;
 * listening on every interface reports this machine's first non-internal IPv4 address. TLS is not
 * supported.
 *
 * Errors: dialling rejects with 503 (refused, unreachable), 408 (dial timeout) or 499 (aborted);
 * listening with 409 (address in use) or 400 (bad address). See {@link TcpTransportOptions} for
 * the limits that protect both ends from hostile input.
 */
export function createTcpTransport(options: TcpTransportOptions = {}): Transport {
  const dialTimeoutMs = options.dialTimeoutMs ?? 5_000;
  const cfg: TcpSocketConfig = {
    maxHeaderBytes: options.maxHeaderBytes ?? 64 * 1024,
    maxBodyBytes: options.maxBodyBytes ?? 16 * 1024 * 1024,
    frameTimeoutMs: options.frameTimeoutMs ?? 30_000,
    busyPollMs: options.busyPollMs ?? 0,
  };
  return createNetTransport({
    name: "tcp",
    dialTimeoutMs,
    noDelay: options.noDelay ?? true,
    keepAliveMs: (options.keepAlive ?? true) ? KEEPALIVE_DELAY_MS : 0,
    client: (sock) => new TcpSocket(sock, "client", cfg),
    server: (sock) => new TcpSocket(sock, "server", cfg),
  });
}
