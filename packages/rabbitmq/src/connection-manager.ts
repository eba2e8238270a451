import { MicroError } from "@microts/core";
import { deadlineSignal, raceSignal, sleep } from "@microts/core/internal";
import { type ChannelModel, connect } from "amqplib";
import { amqpError, ID } from "./errors.js";
import { backoffDelay, type ResolvedOptions } from "./options.js";

type Waiter = { resolve(conn: ChannelModel): void; reject(err: unknown): void };

/**
 * Owns the one AMQP connection of a broker. The first connection is made on demand (`get`); if that
 * first attempt fails, every waiter gets a 503 and the next `get` tries again. Once connected, a lost
 * connection is re-established in the background with back-off until `close()`, and waiters wait.
 * Each connection declares the exchange before it is handed out.
 */
export class ConnectionManager {
  private conn: ChannelModel | undefined;
  private waiters = new Set<Waiter>();
  private state: "idle" | "connecting" | "connected" | "reconnecting" = "idle";
  /** Bumped by `close()`: loops of an older epoch stop. */
  private epoch = 0;
  private stopReconnect: AbortController | undefined;

  constructor(private readonly opts: ResolvedOptions) {}

  /** True while a connection is open. */
  get connected(): boolean {
    return this.conn !== undefined;
  }

  /** The open connection, or undefined while there is none (no waiting). */
  get current(): ChannelModel | undefined {
    return this.conn;
  }

  /**
   * The open connection, waiting for one if needed. Rejects with 503 when the first connection
   * attempt fails or the manager is closed, and with the signal's reason (408/499) when it aborts.
   */
  get(signal: AbortSignal): Promise<ChannelModel> {
    if (this.conn) return Promise.resolve(this.conn);
    const p = new Promise<ChannelModel>((resolve, reject) => {
      this.waiters.add({ resolve, reject });
    });
    if (this.state === "idle") void this.firstConnect();
    return raceSignal(p, signal, ID, "rabbitmq connect");
  }

  /** Closes the connection and stops reconnecting; pending `get`s reject with 503. Reusable after. */
  async close(): Promise<void> {
    this.epoch++;
    this.stopReconnect?.abort();
    this.stopReconnect = undefined;
    const conn = this.conn;
    this.conn = undefined;
    this.state = "idle";
    this.rejectWaiters(MicroError.serviceUnavailable(ID, "rabbitmq broker disconnected"));
    if (conn) {
      try {
        await conn.close();
      } catch {
        // already closed
      }
    }
  }

  private rejectWaiters(err: unknown): void {
    const ws = [...this.waiters];
    this.waiters.clear();
    for (const w of ws) w.reject(err);
  }

  private resolveWaiters(conn: ChannelModel): void {
    const ws = [...this.waiters];
    this.waiters.clear();
    for (const w of ws) w.resolve(conn);
  }

  private async firstConnect(): Promise<void> {
    this.state = "connecting";
    const epoch = this.epoch;
    try {
      const conn = await this.open();
      if (epoch !== this.epoch) {
        await conn.close().catch(() => {});
        return;
      }
      this.adopt(conn);
    } catch (err) {
      if (epoch !== this.epoch) return;
      this.state = "idle";
      this.rejectWaiters(err);
    }
  }

  /** One connection attempt, bounded by `operationTimeoutMs`; declares the exchange. */
  private async open(): Promise<ChannelModel> {
    const { signal, cleanup } = deadlineSignal(
      ID,
      "rabbitmq connect",
      undefined,
      this.opts.operationTimeoutMs,
    );
    const attempt = connect(this.opts.url);
    try {
      const conn = await raceSignal(attempt, signal, ID, "rabbitmq connect");
      // Without listeners an 'error' event would crash the process; 'close' drives reconnection.
      conn.on("error", (err: Error) =>
        this.opts.logger.warn("rabbitmq connection error", { error: err.message }),
      );
      conn.on("handler-error", () => {});
      try {
        const ch = await raceSignal(conn.createChannel(), signal, ID, "rabbitmq declare exchange");
        ch.on("error", () => {});
        const ex = this.opts.exchange;
        await raceSignal(
          ch.assertExchange(ex.name, ex.type, { durable: ex.durable }),
          signal,
          ID,
          "rabbitmq declare exchange",
        );
        await ch.close().catch(() => {});
      } catch (err) {
        await conn.close().catch(() => {});
        throw err;
      }
      return conn;
    } catch (err) {
      // A connection that arrives after the deadline must not leak.
      attempt.then((c) => c.close().catch(() => {})).catch(() => {});
      throw amqpError(err, `connect to ${this.opts.safeAddress}`);
    } finally {
      cleanup();
    }
  }

  private adopt(conn: ChannelModel): void {
    this.conn = conn;
    this.state = "connected";
    const epoch = this.epoch;
    conn.once("close", (err?: Error) => {
      if (epoch !== this.epoch || this.conn !== conn) return;
      this.conn = undefined;
      this.opts.logger.warn("rabbitmq connection lost; reconnecting", { error: err?.message });
      void this.reconnectLoop(epoch);
    });
    this.opts.logger.info("rabbitmq connected", { address: this.opts.safeAddress });
    this.resolveWaiters(conn);
  }

  private async reconnectLoop(epoch: number): Promise<void> {
    this.state = "reconnecting";
    const stop = new AbortController();
    this.stopReconnect = stop;
    for (let n = 0; epoch === this.epoch; n++) {
      try {
        await sleep(backoffDelay(n, this.opts.reconnect), stop.signal, ID);
      } catch {
        return; // closed
      }
      try {
        const conn = await this.open();
        if (epoch !== this.epoch) {
          await conn.close().catch(() => {});
          return;
        }
        this.adopt(conn);
        return;
      } catch (err) {
        this.opts.logger.debug("rabbitmq reconnect attempt failed", { attempt: n + 1, error: String(err) });
        if (err instanceof MicroError && err.code === 409) {
          // The exchange exists with other properties: retrying cannot help.
          this.opts.logger.error("rabbitmq exchange declaration refused", { error: err.detail });
        }
      }
    }
  }
}
