import { connect, createServer, type Socket as NetSocket, type Server } from "node:net";
import type { DialOptions, Listener, ListenOptions, Socket, Transport } from "@microts/core";
import { MicroError } from "@microts/core";
import { abortReason } from "@microts/core/internal";
import { advertisedHost, formatHostPort, isWildcardHost, parseHostPort } from "./address.js";
import { HttpSocket, type SocketConfig } from "./http-socket.js";
import { Inbox } from "./inbox.js";

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

const ID = "go.micro.transport";
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
  const noDelay = options.noDelay ?? true;
  const keepAlive = options.keepAlive ?? true;
  const listeners = new Set<HttpListener>();
  const dialled = new Set<HttpSocket>();

  const tune = (sock: NetSocket) => {
    sock.setNoDelay(noDelay);
    sock.setKeepAlive(keepAlive, KEEPALIVE_DELAY_MS);
  };

  return {
    name: "http",

    async dial(address: string, opts: DialOptions = {}): Promise<Socket> {
      const { host, port } = parseHostPort(address, ID);
      const target = formatHostPort(isWildcardHost(host) ? "127.0.0.1" : host, port);
      const sock = await connectTcp(
        isWildcardHost(host) ? "127.0.0.1" : host,
        port,
        target,
        opts.timeoutMs ?? dialTimeoutMs,
        opts.signal,
      );
      tune(sock);
      const s = new HttpSocket(sock, "client", cfg, target);
      dialled.add(s);
      void s.closed.then(() => dialled.delete(s));
      return s;
    },

    async listen(address: string, opts: ListenOptions = {}): Promise<Listener> {
      if (opts.signal?.aborted) throw abortReason(ID, `listen ${address}`, opts.signal);
      const { host, port } = parseHostPort(address || ":0", ID);
      const server = createServer({
        noDelay,
        keepAlive,
        keepAliveInitialDelay: KEEPALIVE_DELAY_MS,
      });
      await new Promise<void>((resolve, reject) => {
        const onError = (err: NodeJS.ErrnoException) => {
          server.off("listening", onListening);
          const code = err.code ?? err.message;
          reject(
            code === "EADDRINUSE"
              ? MicroError.conflict(ID, `listen ${address}: address already in use`, { cause: err })
              : MicroError.badRequest(ID, `listen ${address}: ${code}`, { cause: err }),
          );
        };
        const onListening = () => {
          server.off("error", onError);
          resolve();
        };
        server.once("error", onError);
        server.once("listening", onListening);
        server.listen({ host: isWildcardHost(host) ? undefined : host, port });
      });
      const bound = server.address();
      const boundPort = bound !== null && typeof bound === "object" ? bound.port : port;
      const l = new HttpListener(server, formatHostPort(advertisedHost(host), boundPort), cfg, () =>
        listeners.delete(l),
      );
      listeners.add(l);
      return l;
    },

    async close(): Promise<void> {
      await Promise.all([...listeners].map((l) => l.close()));
      await Promise.all([...dialled].map((s) => s.close()));
    },
  };
}

/** Opens a TCP connection, bounded by `timeoutMs` and `signal`. */
export function connectTcp(
  host: string,
  port: number,
  target: string,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<NetSocket> {
  const what = `dial ${target}`;
  if (signal?.aborted) return Promise.reject(abortReason(ID, what, signal));
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
      finish(MicroError.serviceUnavailable(ID, `${what}: ${detail}`, { cause: err }));
    };
    const onAbort = () => finish(abortReason(ID, what, signal));
    sock.once("connect", onConnect);
    sock.once("error", onError);
    signal?.addEventListener("abort", onAbort, { once: true });
    if (timeoutMs > 0 && timeoutMs !== Number.POSITIVE_INFINITY) {
      timer = setTimeout(
        () => finish(MicroError.timeout(ID, `${what}: timed out after ${timeoutMs}ms`)),
        timeoutMs,
      );
    }
  });
}

/** Accepts connections; each becomes a server-side {@link HttpSocket}. */
class HttpListener implements Listener {
  private readonly incoming = new Inbox<HttpSocket>(Number.POSITIVE_INFINITY, () => {});
  private isClosed = false;

  constructor(
    private readonly server: Server,
    readonly address: string,
    cfg: SocketConfig,
    private readonly onClose: () => void,
  ) {
    server.on("connection", (sock: NetSocket) => {
      if (this.isClosed) {
        sock.destroy();
        return;
      }
      this.incoming.push(new HttpSocket(sock, "server", cfg));
    });
    // Accept errors (EMFILE...) must not crash the process; the server keeps listening.
    server.on("error", () => {});
  }

  [Symbol.asyncIterator](): AsyncIterator<Socket> {
    const incoming = this.incoming;
    return {
      next: () => incoming.next().then(acceptResult),
      return: () => Promise.resolve({ done: true, value: undefined }),
    };
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    this.onClose();
    this.incoming.end();
    // Connections accepted but never handed out are ours to close.
    for (;;) {
      const s = await this.incoming.next();
      if (s === undefined) break;
      void s.close();
    }
    // Stops listening now; the 'close' event would wait for every open connection, so don't.
    this.server.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function acceptResult(s: HttpSocket | undefined): IteratorResult<Socket> {
  return s === undefined ? { done: true, value: undefined } : { done: false, value: s };
}
