import { MicroError } from "@microts/core";
import { connectTcp, formatHostPort, parseHostPort } from "@microts/core/internal";
import { HttpSocket, RESPONSE_ERROR_ID } from "./http-socket.js";

const ID = "go.micro.broker";
/** Deliveries sent to one subscriber before its first answer comes back (HTTP/1.1 pipelining). */
const WINDOW = 128;
/** An idle connection to a subscriber is closed after this long (ms). */
const IDLE_MS = 5_000;
/** Largest answer read from a subscriber (Go's answers are empty or a short error). */
const MAX_ANSWER_BYTES = 1 << 20;
const HEADER = { "Content-Type": "application/json" };

/** One delivery: an envelope, and how many connections it was written on. */
interface Item {
  body: Uint8Array;
  sends: number;
}

/** One subscriber endpoint, `http://<address>/?id=<node id>`, and its connection. */
interface Destination {
  key: string;
  host: string;
  port: number;
  url: string;
  path: string;
  topic: string;
  /** Not yet written, in publish order. */
  queue: Item[];
  /** Written and not yet answered, in the order they were written. */
  inflight: Item[];
  conn: HttpSocket | undefined;
  connecting: boolean;
  /** Fires when the oldest delivery in flight waited `timeoutMs` for its answer, or when idle. */
  timer: NodeJS.Timeout | undefined;
  /** What the timer is for: an answer (true) or idleness (false). */
  timerBusy: boolean;
  waiters: (() => void)[];
}

/** Settings for {@link Deliveries}. */
export interface DeliveryOptions {
  timeoutMs: number;
  maxPending: number;
  onError: (error: MicroError, topic: string) => void;
}

/**
 * POSTs envelopes to subscriber nodes. Each subscriber gets one kept-alive connection on which
 * deliveries are pipelined (HTTP/1.1): up to 128 requests are written before the first answer
 * arrives, and answers come back in order, so one publisher's messages reach a subscriber in order
 * without a round trip each. Go's and Node's HTTP servers both read pipelined requests in turn.
 *
 * A connection that breaks with deliveries unanswered is replaced and those deliveries are written
 * again, once: a subscriber that closed an idle connection as it was reused loses nothing, and a
 * subscriber that fell over after handling a delivery but before answering may see it twice.
 * A full queue (`maxPending`, queued plus in flight) makes `enqueue` wait (backpressure on
 * `publish`). Failures go to `onError`: 503 unreachable, 408 no answer within `timeoutMs`, 500
 * for a non-200 answer.
 */
export class Deliveries {
  private readonly dests = new Map<string, Destination>();
  private generation = 0;

  constructor(private readonly options: DeliveryOptions) {}

  async enqueue(address: string, nodeId: string, topic: string, envelope: Uint8Array): Promise<void> {
    const key = `${address}\u0000${nodeId}`;
    const generation = this.generation;
    for (;;) {
      let d = this.dests.get(key);
      if (d === undefined) {
        let hp: { host: string; port: number };
        try {
          hp = parseHostPort(address, ID);
        } catch (err) {
          this.options.onError(MicroError.from(err, ID, 400), topic);
          return;
        }
        d = newDestination(key, hp.host || "127.0.0.1", hp.port, nodeId, topic);
        this.dests.set(key, d);
      }
      if (d.queue.length + d.inflight.length < this.options.maxPending) {
        d.queue.push({ body: envelope, sends: 0 });
        this.pump(d);
        return;
      }
      const dest = d;
      await new Promise<void>((resolve) => dest.waiters.push(resolve));
      if (generation !== this.generation) return; // dropped by close()
    }
  }

  /** Drops every queued delivery and closes every connection. */
  close(): void {
    this.generation++;
    for (const d of this.dests.values()) {
      d.queue.length = 0;
      d.inflight.length = 0;
      if (d.timer !== undefined) clearTimeout(d.timer);
      for (const w of d.waiters.splice(0)) w();
      void d.conn?.close();
    }
    this.dests.clear();
  }

  /**
   * Writes queued deliveries while the window has room (connecting first when needed), and lets
   * waiting publishers in as room frees up.
   */
  private pump(d: Destination): void {
    const conn = d.conn;
    if (conn === undefined) {
      if (!d.connecting && d.queue.length > 0) void this.connect(d, this.generation);
    } else {
      while (d.queue.length > 0 && d.inflight.length < WINDOW) {
        const item = d.queue.shift() as Item;
        item.sends++;
        d.inflight.push(item);
        // A write that fails shows up as the connection's end, in `read`.
        conn.send({ header: HEADER, body: item.body }).catch(() => {});
      }
      this.arm(d);
    }
    while (d.waiters.length > 0 && d.queue.length + d.inflight.length < this.options.maxPending) {
      d.waiters.shift()?.();
    }
  }

  private async connect(d: Destination, generation: number): Promise<void> {
    d.connecting = true;
    let conn: HttpSocket;
    try {
      const sock = await connectTcp(d.host, d.port, d.url, this.options.timeoutMs, undefined);
      sock.setNoDelay(true);
      conn = new HttpSocket(
        sock,
        "client",
        { maxHeaderBytes: MAX_ANSWER_BYTES, maxBodyBytes: MAX_ANSWER_BYTES, headerTimeoutMs: 0 },
        formatHostPort(d.host, d.port),
        d.path,
      );
    } catch (err) {
      d.connecting = false;
      if (generation !== this.generation) return;
      // Unreachable: every delivery waiting for this subscriber fails, as each POST would have.
      const e = MicroError.serviceUnavailable(
        ID,
        `deliver to ${d.url}: ${MicroError.from(err, ID, 503).detail}`,
        {
          cause: err,
        },
      );
      for (const _ of d.queue.splice(0)) this.options.onError(e, d.topic);
      this.pump(d);
      this.forget(d);
      return;
    }
    d.connecting = false;
    if (generation !== this.generation) {
      void conn.close();
      return;
    }
    d.conn = conn;
    this.pump(d);
    void this.read(d, conn, generation);
  }

  /** Matches answers to deliveries in order until the connection ends. */
  private async read(d: Destination, conn: HttpSocket, generation: number): Promise<void> {
    let lost: MicroError | undefined;
    let closing = false;
    for (;;) {
      try {
        const answer = await conn.recv();
        d.inflight.shift();
        if (closes(answer.header)) {
          // The subscriber answers no more requests on this connection: what was written after
          // this one was not handled, and goes again on a new connection.
          closing = true;
          lost = MicroError.serviceUnavailable(ID, "connection closed by the subscriber");
          break;
        }
      } catch (err) {
        const e = MicroError.from(err, ID, 503);
        if (e.id !== RESPONSE_ERROR_ID) {
          lost = e;
          break;
        }
        // A non-200 answer: this delivery failed, the connection goes on.
        d.inflight.shift();
        this.options.onError(MicroError.internalServerError(ID, `deliver to ${d.url}: ${e.detail}`), d.topic);
      }
      if (generation !== this.generation) return;
      this.pump(d);
    }
    void conn.close();
    if (generation !== this.generation || d.conn !== conn) return;
    d.conn = undefined;
    // Unanswered deliveries go first on the next connection, once; a second loss reports them.
    const retry: Item[] = [];
    for (const item of d.inflight.splice(0)) {
      if (closing) item.sends--; // never handled: this write does not count
      if (item.sends < 2) retry.push(item);
      else
        this.options.onError(
          MicroError.serviceUnavailable(ID, `deliver to ${d.url}: ${lost.detail}`),
          d.topic,
        );
    }
    d.queue.unshift(...retry);
    if (d.queue.length > 0) this.pump(d);
    else this.forget(d);
  }

  /**
   * Keeps one timer per subscriber: while deliveries are in flight, the oldest must be answered
   * within `timeoutMs` (else the connection is dropped and it fails with 408); when idle, the
   * connection is closed after {@link IDLE_MS}.
   */
  private arm(d: Destination): void {
    const busy = d.inflight.length > 0;
    if (d.timer !== undefined && d.timerBusy === busy) {
      d.timer.refresh();
      return;
    }
    if (d.timer !== undefined) clearTimeout(d.timer);
    d.timerBusy = busy;
    d.timer = setTimeout(onTimer, busy ? this.options.timeoutMs : IDLE_MS, this, d);
    d.timer.unref();
  }

  /** The timer of `d` fired (see {@link arm}). */
  fire(d: Destination): void {
    d.timer = undefined;
    if (d.conn === undefined) return;
    if (d.timerBusy) this.timedOut(d);
    else this.idle(d);
  }

  private timedOut(d: Destination): void {
    const conn = d.conn;
    const oldest = d.inflight.shift();
    if (conn === undefined || oldest === undefined) return;
    this.options.onError(
      MicroError.timeout(ID, `deliver to ${d.url}: no answer within ${this.options.timeoutMs}ms`),
      d.topic,
    );
    // The answers of the others would be matched to the wrong deliveries: start over on a new
    // connection (`read` sees the end and writes them again).
    void conn.close();
  }

  private idle(d: Destination): void {
    if (d.queue.length > 0 || d.inflight.length > 0 || d.conn === undefined) return;
    const conn = d.conn;
    d.conn = undefined;
    void conn.close();
    this.forget(d);
  }

  private forget(d: Destination): void {
    if (d.queue.length > 0 || d.inflight.length > 0 || d.conn !== undefined || d.connecting) return;
    if (d.timer !== undefined) clearTimeout(d.timer);
    d.timer = undefined;
    if (this.dests.get(d.key) === d) this.dests.delete(d.key);
  }
}

function onTimer(deliveries: Deliveries, d: Destination): void {
  deliveries.fire(d);
}

function newDestination(key: string, host: string, port: number, nodeId: string, topic: string): Destination {
  const path = `/?id=${encodeURIComponent(nodeId)}`;
  return {
    key,
    host,
    port,
    url: `http://${formatHostPort(host, port)}${path}`,
    path,
    topic,
    queue: [],
    inflight: [],
    conn: undefined,
    connecting: false,
    timer: undefined,
    timerBusy: false,
    waiters: [],
  };
}

/** True when an answer says the connection ends after it (`Connection: close`). */
function closes(header: Record<string, string>): boolean {
  for (const k in header) {
    if (k.length === 10 && k.toLowerCase() === "connection")
      return (header[k] ?? "").toLowerCase() === "close";
  }
  return false;
}
