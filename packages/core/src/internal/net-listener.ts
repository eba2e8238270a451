import { createServer, type Socket as NetSocket, type Server } from "node:net";
import { MicroError } from "../errors/micro-error.js";
import type { Listener, ListenOptions, Socket } from "../transport/transport.js";
import { Inbox } from "./inbox.js";
import { advertisedHost, formatHostPort, isWildcardHost, parseHostPort } from "./net-address.js";
import { abortReason } from "./signals.js";

/** Options for {@link listenTcp}. */
export interface TcpListenOptions extends ListenOptions {
  /** TCP_NODELAY on accepted connections. Default true. */
  noDelay?: boolean | undefined;
  /** Keep-alive probes on accepted connections, first after this many ms idle; 0 disables. Default 15 000. */
  keepAliveMs?: number | undefined;
  /** The errors' id. Default `go.micro.transport`. */
  id?: string | undefined;
  /** Runs once when the listener closes (a transport forgets it). */
  onClose?: (() => void) | undefined;
}

/**
 * Listens for TCP connections on `address` (`host:port`, `[v6]:port`, `:port`; port 0 picks a free
 * one) and wraps each accepted connection with `wrap`. The listener's address is what peers dial:
 * on every interface, this machine's first non-internal IPv4 address (Go's `addr.Extract`).
 * Rejects with MicroError 409 (address in use), 400 (bad address) or the signal's reason.
 */
export async function listenTcp<S extends Socket>(
  address: string,
  wrap: (sock: NetSocket) => S,
  options: TcpListenOptions = {},
): Promise<Listener> {
  const id = options.id ?? "go.micro.transport";
  if (options.signal?.aborted) throw abortReason(id, `listen ${address}`, options.signal);
  const { host, port } = parseHostPort(address || ":0", id);
  const keepAliveMs = options.keepAliveMs ?? 15_000;
  const server = createServer({
    noDelay: options.noDelay ?? true,
    keepAlive: keepAliveMs > 0,
    keepAliveInitialDelay: keepAliveMs,
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off("listening", onListening);
      const code = err.code ?? err.message;
      reject(
        code === "EADDRINUSE"
          ? MicroError.conflict(id, `listen ${address}: address already in use`, { cause: err })
          : MicroError.badRequest(id, `listen ${address}: ${code}`, { cause: err }),
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
  return new TcpListener(server, formatHostPort(advertisedHost(host), boundPort), wrap, options.onClose);
}

/** Accepts connections; each becomes a transport socket made by `wrap`. */
class TcpListener<S extends Socket> implements Listener {
  private readonly incoming = new Inbox<S>(Number.POSITIVE_INFINITY, () => {});
  private isClosed = false;

  constructor(
    private readonly server: Server,
    readonly address: string,
    wrap: (sock: NetSocket) => S,
    private readonly onClose: (() => void) | undefined,
  ) {
    server.on("connection", (sock: NetSocket) => {
      if (this.isClosed) {
        sock.destroy();
        return;
      }
      this.incoming.push(wrap(sock));
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
    this.onClose?.();
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

function acceptResult(s: Socket | undefined): IteratorResult<Socket> {
  return s === undefined ? { done: true, value: undefined } : { done: false, value: s };
}
