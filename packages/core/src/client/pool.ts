import type { Codec } from "../codec/codec.js";
import { Code } from "../errors/codes.js";
import { MicroError } from "../errors/micro-error.js";
import { DeadlineTimer } from "../internal/deadline-timer.js";
import { IdTable } from "../internal/id-table.js";
import { SENT } from "../internal/sent.js";
import { getHeader, Header } from "../rpc/headers.js";
import type { Message, Socket, Transport } from "../transport/transport.js";
import type { CallScope } from "./call-scope.js";
import { tagPhase } from "./phase.js";
import { readReply } from "./reply.js";

/** Options for {@link ConnectionPool}. */
export interface PoolOptions {
  /**
   * Connections per address to a multiplexing server, after which calls share the least loaded
   * one beyond `callsPerConnection`. Default 100 (Go Micro's `DefaultPoolSize`). Servers that take
   * one call at a time (Go Micro's) get a connection per concurrent call, as from Go's client.
   */
  size?: number | undefined;
  /**
   * Unary calls one connection carries at once before another connection is opened, once the
   * server has shown it serves concurrent requests apart (a micro-ts server's first reply carries
   * `Micro-Multiplex`). Until then, and always with Go Micro servers, a connection carries one call
   * at a time, as Go Micro's client does. Default 128; `1` never multiplexes.
   */
  callsPerConnection?: number | undefined;
  /** Age in milliseconds after which a connection takes no new calls and closes once idle. Default 60 000. */
  ttlMs?: number | undefined;
  /** Dial timeout in milliseconds. Default 5 000. */
  dialTimeoutMs?: number | undefined;
}

const ID = "go.micro.client";

interface Pending {
  resolve(result: unknown): void;
  reject(err: unknown): void;
  /** Decodes the reply ({@link readReply}) as soon as it arrives, before the call resumes. */
  codec: Codec;
  responseType: unknown;
  /** The call's budget: its deadline, and its reason to end early. */
  scope: CallScope;
  unlisten: () => void;
}

/**
 * One connection, shared by many unary calls once the server has shown it can take them.
 *
 * - **Multiplexed** (after a reply with `Micro-Multiplex`, from a micro-ts server): requests go
 *   out as they come; replies are matched to their calls by `Micro-Id`. A reply nobody waits for
 *   any more (its call timed out) is dropped.
 * - **One call at a time** (before that, and with Go Micro servers): Go Micro ≥ 4.10 looks the id
 *   up under `Micro-ID`, which its HTTP transport never delivers, so it cannot tell concurrent
 *   requests apart, and its HTTP replies repeat the connection's first `Micro-Id`. The reply
 *   belongs to the one call in flight whatever its id; a call that gives up closes the
 *   connection, so a late reply can never reach the next call. This is Go Micro's client's
 *   behaviour.
 */
export class SharedConnection {
  /** The calls waiting for their replies, by `Micro-Id` (not a `Map`: see {@link IdTable}). */
  readonly pending = new IdTable<Pending>();
  /** True once the server showed it serves concurrent requests apart (`Micro-Multiplex`). */
  multiplexed = false;
  readonly created = Date.now();
  /** Calls handed this connection that have not sent their request yet. */
  reserved = 0;
  /** Takes no new calls; closes when the last pending one ends. */
  retiring = false;
  dead = false;
  /** The deadlines of the pending calls: one timer, not one per call. */
  private readonly deadlines = new DeadlineTimer((now) => this.expireDue(now));

  constructor(
    readonly socket: Socket,
    private readonly onDead: (conn: SharedConnection) => void,
    /** Calls carried at once once multiplexed (`callsPerConnection`). */
    private readonly maxCalls: number,
  ) {
    void this.read();
  }

  /** Calls this connection carries at once now. */
  get capacity(): number {
    return this.multiplexed ? this.maxCalls : 1;
  }

  /**
   * Sends `message` (whose `Micro-Id` is `id`) and resolves with its reply's result: the body
   * decoded with `codec`, or the remote's error ({@link readReply}), read when the reply arrives,
   * so that the caller resumes once. Rejects with 408 at the scope's deadline, with the caller's
   * reason when a parent signal aborts, with 503 when the connection is lost; a failed send is
   * tagged phase `send` (the request never left).
   */
  exchange(
    id: string,
    message: Message,
    scope: CallScope,
    codec: Codec,
    responseType: unknown,
  ): Promise<unknown> {
    if (this.reserved > 0) this.reserved--;
    if (this.dead) {
      // Lost between being handed out and this send: nothing left, so another node may be tried.
      return Promise.reject(
        tagPhase(MicroError.serviceUnavailable(ID, `connection to ${this.socket.remote} lost`), "send"),
      );
    }
    return new Promise<unknown>((resolve, reject) => {
      const p: Pending = { resolve, reject, codec, responseType, scope, unlisten: noop };
      if (this.pending.size === 0) this.deadlines.keepProcessAlive(true);
      this.pending.set(id, p);
      if (scope.deadline !== undefined) this.deadlines.add(scope.deadline);
      if (scope.parents.length > 0) p.unlisten = scope.listen((reason) => this.cancel(id, p, reason));
      const sent = this.socket.send(message);
      // Queued for good: nothing to catch (a lost connection fails the pending calls instead).
      if (sent === SENT) return;
      sent.then(undefined, (err: unknown) => {
        if (this.pending.get(id) !== p) return;
        this.settle(id, p);
        // The transport refused this one message (over its size limit): the connection is fine,
        // and another node would refuse it too (untagged: not retried, the node not blamed).
        if (err instanceof MicroError && err.code === Code.PayloadTooLarge) {
          reject(err);
          return;
        }
        reject(tagPhase(MicroError.from(err, ID, 503), "send"));
        this.fail(MicroError.serviceUnavailable(ID, `connection to ${this.socket.remote} lost`));
      });
    });
  }

  /** Gives up on one call: it rejects with `reason`; its reply, if it comes, is dropped. */
  abandon(id: string, p: Pending, reason: MicroError): void {
    if (this.pending.get(id) !== p) return;
    this.settle(id, p);
    p.reject(tagPhase(reason, "response"));
    // One call at a time: its late reply would be taken for the next call's, so close.
    if (!this.multiplexed) this.retiring = true;
    this.closeIfRetired();
  }

  /**
   * The caller canceled one call. The server learns of it when the connection closes, as with Go
   * Micro's client: at once when the call was alone on it, else once the calls sharing it are
   * done (no new calls are put on it meanwhile).
   */
  cancel(id: string, p: Pending, reason: MicroError): void {
    if (this.pending.get(id) !== p) return;
    this.abandon(id, p, reason);
    if (this.pending.size === 0) this.fail(reason);
    else this.retire();
  }

  private settle(id: string, p: Pending): void {
    this.pending.delete(id);
    // An idle connection's timer stays armed (re-arming costs more than a late no-op wake-up),
    // but it no longer keeps the process alive.
    if (this.pending.size === 0) this.deadlines.keepProcessAlive(false);
    p.unlisten();
  }

  /** Calls past their deadline fail with 408; returns the next deadline. */
  private expireDue(now: number): number {
    let next = Number.POSITIVE_INFINITY;
    for (const [id, p] of this.pending.entries()) {
      const at = p.scope.deadline;
      if (at === undefined) continue;
      if (at <= now) this.abandon(id, p, p.scope.reason() ?? p.scope.timeoutError());
      else if (at < next) next = at;
    }
    return this.dead ? Number.POSITIVE_INFINITY : next;
  }

  private async read(): Promise<void> {
    let why: MicroError;
    try {
      // Replies already queued are taken at once (`tryRecv`): no promise and tick for each.
      // Nothing of a reply stays in this frame while it waits for the next: V8 keeps an async
      // function's locals while it waits, so an idle connection would keep its last reply alive,
      // and with many idle connections V8 pretenures the allocation sites of replies (every later
      // reply is then made in the old generation).
      const socket = this.socket;
      const it = socket[Symbol.asyncIterator]();
      for (;;) {
        let msg = socket.tryRecv?.();
        if (msg === undefined) {
          let r: IteratorResult<Message> | undefined = await it.next();
          if (r.done) break;
          msg = r.value;
          r = undefined;
        }
        this.dispatch(msg);
      }
      why = MicroError.serviceUnavailable(ID, `connection to ${this.socket.remote} closed`);
    } catch (err) {
      why = MicroError.from(err, ID, 503);
    }
    this.fail(why);
  }

  private dispatch(msg: Message): void {
    const header = msg.header;
    if (!this.multiplexed && header[Header.Multiplex] !== undefined) this.multiplexed = true;
    const id = header[Header.Id] ?? getHeader(header, Header.Id);
    const p = id === undefined ? undefined : this.pending.get(id);
    if (p !== undefined) {
      this.settle(id as string, p);
      answer(p, msg);
      this.closeIfRetired();
      return;
    }
    if (id === undefined || !this.multiplexed) {
      // The lone call owns a reply without an id (a Go server's codec error, say), and any reply
      // of a connection that carries one call at a time (Go repeats the first request's id).
      const only = this.pending.size === 1 ? this.pending.first() : undefined;
      if (only) {
        this.settle(only[0], only[1]);
        answer(only[1], msg);
        this.closeIfRetired();
        return;
      }
    }
    if (id === undefined) {
      const text = getHeader(msg.header, Header.Error);
      this.fail(
        MicroError.internalServerError(
          ID,
          `reply without ${Header.Id} on a shared connection${text ? `: ${text}` : ""}`,
        ),
      );
      return;
    }
    // Otherwise: a late reply to a call that gave up; dropped.
  }

  /** The connection is gone: every pending call fails with `why` (phase `response`: maybe delivered). */
  fail(why: MicroError): void {
    if (!this.dead) {
      this.dead = true;
      this.onDead(this);
    }
    for (const [id, p] of this.pending.entries()) {
      this.settle(id, p);
      p.reject(tagPhase(why, "response"));
    }
    this.deadlines.stop();
    void this.socket.close();
  }

  private closeIfRetired(): void {
    if (this.retiring && this.pending.size === 0 && !this.dead) {
      this.dead = true;
      this.onDead(this);
      this.deadlines.stop();
      void this.socket.close();
    }
  }

  /** Calls on this connection: pending ones and those about to send. */
  get load(): number {
    return this.pending.size + this.reserved;
  }

  /** Stops taking calls; closes now if idle. */
  retire(): void {
    this.retiring = true;
    this.closeIfRetired();
  }
}

function noop(): void {}

/** Settles a call with its reply's result, or with the error reading it raised. */
function answer(p: Pending, reply: Message): void {
  let result: unknown;
  try {
    result = readReply(reply, p.codec, p.responseType);
  } catch (err) {
    p.reject(err);
    return;
  }
  p.resolve(result);
}

/**
 * The client's connections, per address, shared by unary calls ({@link SharedConnection}). A call
 * takes the first connection with room; a new one is dialled (one dial at a time per address)
 * when all are full, up to `size`, after which calls spread over the least loaded multiplexed
 * one (a server that takes one call at a time gets more connections instead). Streams do not use
 * the pool: each has a connection of its own, as in Go Micro.
 */
export class ConnectionPool {
  private readonly conns = new Map<string, SharedConnection[]>();
  private readonly dialing = new Map<string, Promise<SharedConnection>>();
  private readonly size: number;
  private readonly perConnection: number;
  private readonly ttlMs: number;
  readonly dialTimeoutMs: number;
  private closedAll = false;

  constructor(
    private readonly transport: Transport,
    options: PoolOptions = {},
  ) {
    this.size = Math.max(1, options.size ?? 100);
    this.perConnection = Math.max(1, options.callsPerConnection ?? 128);
    this.ttlMs = options.ttlMs ?? 60_000;
    this.dialTimeoutMs = options.dialTimeoutMs ?? 5_000;
  }

  /**
   * A connection to `address` with room for one more call: at once when there is one. The call
   * holds a reservation on it until it sends ({@link SharedConnection.exchange}).
   */
  acquire(address: string, scope: CallScope): SharedConnection | Promise<SharedConnection> {
    const list = this.conns.get(address);
    let least: SharedConnection | undefined;
    if (list !== undefined) {
      const now = Date.now();
      for (let i = 0; i < list.length; i++) {
        const c = list[i] as SharedConnection;
        if (now - c.created >= this.ttlMs) {
          c.retire();
          continue;
        }
        if (c.retiring) continue;
        const load = c.load;
        if (load < c.capacity) {
          c.reserved++;
          return c;
        }
        // Only a server that tells requests apart may get more calls than the capacity.
        if (c.multiplexed && (least === undefined || load < least.load)) least = c;
      }
    }
    const live = list === undefined ? 0 : list.filter((c) => !c.retiring).length;
    if (least !== undefined && live >= this.size) {
      least.reserved++;
      return least;
    }
    return this.waitForDial(address, scope);
  }

  private waitForDial(address: string, scope: CallScope): Promise<SharedConnection> {
    let dial = this.dialing.get(address);
    if (dial === undefined) {
      dial = this.dial(address, scope).finally(() => this.dialing.delete(address));
      this.dialing.set(address, dial);
      return dial;
    }
    // Someone else's dial: wait for it within this call's own budget, then look again (the new
    // connection may already be full).
    let abandoned = false;
    let got: SharedConnection | undefined;
    const next = dial.then(() => {
      const c = this.acquire(address, scope);
      if (!(c instanceof SharedConnection)) return c;
      if (abandoned)
        c.reserved--; // the call gave up meanwhile: hand the room back
      else got = c;
      return c;
    });
    return scope.race(next).catch((err: unknown) => {
      abandoned = true;
      if (got !== undefined) got.reserved--;
      throw err;
    });
  }

  private async dial(address: string, scope: CallScope): Promise<SharedConnection> {
    if (this.closedAll) throw MicroError.serviceUnavailable(ID, "client closed");
    const left = scope.remainingMs();
    const socket = await this.transport.dial(address, {
      stream: true,
      timeoutMs: left === undefined ? this.dialTimeoutMs : Math.min(left, this.dialTimeoutMs),
      signal: scope.parents.length > 0 ? scope.signal : undefined,
    });
    const conn = new SharedConnection(socket, (c) => this.remove(address, c), this.perConnection);
    if (this.closedAll) {
      conn.fail(MicroError.serviceUnavailable(ID, "client closed"));
      throw MicroError.serviceUnavailable(ID, "client closed");
    }
    let list = this.conns.get(address);
    if (list === undefined) {
      list = [];
      this.conns.set(address, list);
    }
    list.push(conn);
    conn.reserved = 1; // the dialling call's
    return conn;
  }

  private remove(address: string, conn: SharedConnection): void {
    const list = this.conns.get(address);
    if (list === undefined) return;
    const i = list.indexOf(conn);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.conns.delete(address);
  }

  /** Closes every connection; calls still pending fail with 503. */
  async close(): Promise<void> {
    this.closedAll = true;
    const all = [...this.conns.values()].flat();
    this.conns.clear();
    const why = MicroError.serviceUnavailable(ID, "client closed");
    for (const c of all) c.fail(why);
    await Promise.all(all.map((c) => c.socket.close()));
  }
}
