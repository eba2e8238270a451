import { getOrInsert } from "../internal/maps.js";
import type { Socket, Transport } from "../transport/transport.js";

/** Options for {@link ConnectionPool}. */
export interface PoolOptions {
  /** Idle connections kept per address. Default 100 (Go Micro's `DefaultPoolSize`). */
  size?: number;
  /** Age in milliseconds after which a connection is closed instead of reused. Default 60 000. */
  ttlMs?: number;
  /** Dial timeout in milliseconds. Default 5 000. */
  dialTimeoutMs?: number;
}

interface Pooled {
  socket: Socket;
  created: number;
  dead: boolean;
}

/**
 * Idle connections per address, most recently used first. A connection is reused only when its
 * last exchange completed cleanly; anything else closes it.
 */
export class ConnectionPool {
  private readonly idle = new Map<string, Pooled[]>();
  private readonly meta = new WeakMap<Socket, Pooled>();
  private readonly size: number;
  private readonly ttlMs: number;
  readonly dialTimeoutMs: number;
  private closedAll = false;

  constructor(
    private readonly transport: Transport,
    options: PoolOptions = {},
  ) {
    this.size = options.size ?? 100;
    this.ttlMs = options.ttlMs ?? 60_000;
    this.dialTimeoutMs = options.dialTimeoutMs ?? 5_000;
  }

  /** An idle connection to `address`, or a new one. `reused` tells which. */
  async get(address: string, signal?: AbortSignal): Promise<{ socket: Socket; reused: boolean }> {
    const list = this.idle.get(address);
    const now = Date.now();
    while (list && list.length > 0) {
      const p = list.pop() as Pooled;
      if (!p.dead && now - p.created < this.ttlMs) return { socket: p.socket, reused: true };
      void p.socket.close();
    }
    const socket = await this.transport.dial(address, {
      stream: true,
      signal,
      timeoutMs: this.dialTimeoutMs,
    });
    const p: Pooled = { socket, created: Date.now(), dead: false };
    this.meta.set(socket, p);
    void socket.closed.then(() => {
      p.dead = true;
    });
    return { socket, reused: false };
  }

  /** Returns a connection after a clean exchange; `ok` false closes it instead. */
  release(address: string, socket: Socket, ok: boolean): void {
    const p = this.meta.get(socket);
    if (!ok || !p || p.dead || this.closedAll) {
      void socket.close();
      return;
    }
    const list = getOrInsert(this.idle, address, () => []);
    if (list.length >= this.size) {
      void socket.close();
      return;
    }
    list.push(p);
  }

  /** Closes every idle connection. */
  async close(): Promise<void> {
    this.closedAll = true;
    const all = [...this.idle.values()].flat();
    this.idle.clear();
    await Promise.all(all.map((p) => p.socket.close()));
  }
}
