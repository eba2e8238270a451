import type { IoOptions } from "@microts/core";
import { MicroError } from "@microts/core";
import { deadlineSignal, raceDeadline, raceSignal } from "@microts/core/internal";
import type { NatsConnection, NodeConnectionOptions, QueuedIterator, Status } from "@nats-io/transport-node";
import { connect } from "@nats-io/transport-node";
import { publishQueued } from "./publish-soon.js";

/** The NATS server every adapter dials unless told otherwise (Go's `nats.DefaultURL`). */
export const DEFAULT_ADDRESS = "nats://127.0.0.1:4222";

/** Connection options shared by the NATS registry, brokers and transport. */
export interface NatsConnectionConfig {
  /**
   * Server URL(s): `nats://host:port`, `tls://host:port`, `host:port`, or a comma-separated list
   * of them (the client picks one and fails over to the others). Default `nats://127.0.0.1:4222`.
   */
  address?: string | undefined;
  /**
   * An existing connection to share instead of opening one. The adapter never closes or drains it;
   * whoever created it does. Default: the adapter opens (and on `close` closes) its own.
   */
  connection?: NatsConnection | undefined;
  /**
   * Extra nats.js connection options (auth, TLS, `name`, `pingInterval`, ...), applied over our
   * defaults. `servers` always comes from `address`. Our defaults: `maxReconnectAttempts: -1`
   * (reconnect forever, so a server restart never kills the adapter; nats.js's own default is 10),
   * `reconnectTimeWait: 1000` ms, `waitOnFirstConnect: false`, `noAsyncTraces: true` (nats.js
   * otherwise builds two Error objects for the stack of every request, which was 28 % of a
   * JetStream publisher's CPU; micro-ts reports failures as MicroErrors with their own message).
   */
  connectionOptions?: Omit<NodeConnectionOptions, "servers"> | undefined;
  /** Time budget for opening the connection, in milliseconds. Default 5000. */
  connectTimeoutMs?: number | undefined;
}

/** Splits `address` into the server list nats.js expects. */
export function parseServers(address: string | undefined): string[] {
  const list = (address ?? DEFAULT_ADDRESS)
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  return list.length > 0 ? list : [DEFAULT_ADDRESS];
}

type StatusListener = (status: Status) => void;

/**
 * Opens one NATS connection lazily and shares it among the calls of one adapter. Concurrent
 * `connect` calls wait for the same attempt; a failed attempt is forgotten so the next call retries.
 * Status events (`reconnect`, `disconnect`, ...) are fanned out to listeners, which is how adapters
 * learn that the client reconnected and must re-announce themselves.
 */
export class Connector {
  readonly servers: string[];
  readonly owned: boolean;
  private nc: NatsConnection | undefined;
  private pending: Promise<NatsConnection> | undefined;
  private statusIter: QueuedIterator<Status> | undefined;
  private readonly listeners = new Set<StatusListener>();
  private closedFlag = false;

  constructor(
    private readonly id: string,
    private readonly config: NatsConnectionConfig,
  ) {
    this.servers = parseServers(config.address);
    this.owned = config.connection === undefined;
  }

  /** The address string the adapter was configured with. */
  get address(): string {
    return this.servers.join(",");
  }

  /** The open connection, if any. */
  get current(): NatsConnection | undefined {
    return this.nc && !this.nc.isClosed() ? this.nc : undefined;
  }

  /** True once `close` was called. */
  get isClosed(): boolean {
    return this.closedFlag;
  }

  /** Registers a status listener; returns the function that removes it. */
  onStatus(listener: StatusListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * The connection, opening it first if needed. Rejects with MicroError 503 when the server cannot
   * be reached or the adapter was closed, 408 when `timeoutMs` (default `connectTimeoutMs`) passes,
   * 499 when `signal` aborts.
   */
  async connect(options: IoOptions = {}): Promise<NatsConnection> {
    if (this.closedFlag) throw MicroError.serviceUnavailable(this.id, "nats: adapter closed");
    const open = this.current;
    if (open) return open;
    const shared = this.config.connection;
    if (shared !== undefined) {
      if (shared.isClosed())
        throw MicroError.serviceUnavailable(this.id, "nats: the shared connection is closed");
      this.nc = shared;
      this.watchStatus(shared);
      return shared;
    }
    this.pending ??= this.open().finally(() => {
      this.pending = undefined;
    });
    const d = deadlineSignal(this.id, `connect ${this.address}`, options.signal, options.timeoutMs);
    try {
      return await raceSignal(this.pending, d.signal, this.id, `connect ${this.address}`);
    } finally {
      d.cleanup();
    }
  }

  /** Closes the connection when this connector opened it; idempotent. */
  async close(): Promise<void> {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.statusIter?.stop();
    this.statusIter = undefined;
    this.listeners.clear();
    const nc = this.nc ?? (await this.pending?.catch(() => undefined));
    this.nc = undefined;
    if (nc && !nc.isClosed()) {
      // What this adapter queued goes out before the close (or stays with the shared connection).
      publishQueued(nc);
      if (this.owned) await nc.close().catch(() => {});
    }
  }

  /** Opens the connection this connector owns. */
  private async open(): Promise<NatsConnection> {
    let nc: NatsConnection;
    try {
      nc = await connect({
        maxReconnectAttempts: -1,
        reconnectTimeWait: 1_000,
        waitOnFirstConnect: false,
        noAsyncTraces: true,
        timeout: this.config.connectTimeoutMs ?? 5_000,
        ...this.config.connectionOptions,
        servers: this.servers,
      });
    } catch (err) {
      throw MicroError.serviceUnavailable(
        this.id,
        `nats: cannot connect to ${this.address}: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
    if (this.closedFlag) {
      await nc.close().catch(() => {});
      throw MicroError.serviceUnavailable(this.id, "nats: adapter closed");
    }
    this.nc = nc;
    this.watchStatus(nc);
    return nc;
  }

  private watchStatus(nc: NatsConnection): void {
    this.statusIter?.stop();
    const iter = nc.status() as QueuedIterator<Status>;
    this.statusIter = iter;
    void (async () => {
      try {
        for await (const s of iter) {
          for (const l of [...this.listeners]) {
            try {
              l(s);
            } catch {
              // a listener's failure must not stop the others or the loop
            }
          }
        }
      } catch {
        // the iterator fails only when the connection closes; nothing left to watch
      }
    })();
  }
}

/** The text of an unknown error, for details. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * A round trip to the NATS server (`nc.flush()`): afterwards the server has seen everything sent
 * before it, the messages still queued by `publishSoon` included. Bounded by the caller's signal
 * and `io.timeoutMs`, else `defaultMs`; failures are 503.
 */
export function flushConnection(
  id: string,
  nc: NatsConnection,
  io: IoOptions,
  what: string,
  defaultMs: number,
): Promise<void> {
  return raceDeadline(
    id,
    what,
    io,
    defaultMs,
    () => {
      publishQueued(nc);
      return nc.flush();
    },
    (err) => MicroError.serviceUnavailable(id, `${what}: ${errorText(err)}`, { cause: err }),
  );
}
