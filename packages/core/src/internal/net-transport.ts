import type { Socket as NetSocket } from "node:net";
import type { DialOptions, Listener, ListenOptions, Socket, Transport } from "../transport/transport.js";
import { dialTcp } from "./net-dial.js";
import { listenTcp } from "./net-listener.js";

/** What {@link createNetTransport} needs: the transport's name, its TCP settings, its sockets. */
export interface NetTransportConfig {
  /** The transport's name (`http`, `tcp`), registered as node metadata. */
  name: string;
  /** Dial timeout in ms when `dial` gets no `timeoutMs`. */
  dialTimeoutMs: number;
  /** TCP_NODELAY on every connection. */
  noDelay: boolean;
  /** Keep-alive probes, first after this many ms idle; 0 disables. */
  keepAliveMs: number;
  /** Wraps a dialled connection (`target`: the `host:port` it reached). */
  client(sock: NetSocket, target: string): Socket;
  /** Wraps an accepted connection. */
  server(sock: NetSocket): Socket;
  /** The errors' id. Default `go.micro.transport`. */
  id?: string | undefined;
}

/**
 * A Transport over TCP connections ({@link dialTcp}, {@link listenTcp}) whose sockets `config`
 * makes. `close` closes its listeners and the sockets it dialled.
 */
export function createNetTransport(config: NetTransportConfig): Transport {
  const { noDelay, keepAliveMs } = config;
  const id = config.id ?? "go.micro.transport";
  const listeners = new Set<Listener>();
  const dialled = new Set<Socket>();
  return {
    name: config.name,

    async dial(address: string, opts: DialOptions = {}): Promise<Socket> {
      const { sock, target } = await dialTcp(address, {
        timeoutMs: opts.timeoutMs ?? config.dialTimeoutMs,
        signal: opts.signal,
        noDelay,
        keepAliveMs,
        id,
      });
      const s = config.client(sock, target);
      dialled.add(s);
      void s.closed.then(() => dialled.delete(s));
      return s;
    },

    async listen(address: string, opts: ListenOptions = {}): Promise<Listener> {
      const l = await listenTcp(address, config.server, {
        ...opts,
        id,
        noDelay,
        keepAliveMs,
        onClose: () => listeners.delete(l),
      });
      listeners.add(l);
      return l;
    },

    async close(): Promise<void> {
      await Promise.all([...listeners].map((l) => l.close()));
      await Promise.all([...dialled].map((s) => s.close()));
    },
  };
}
