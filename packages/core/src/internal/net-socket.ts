import type { Socket as NetSocket } from "node:net";
import type { IoOptions } from "../context/call-options.js";
import { MicroError } from "../errors/micro-error.js";
import type { Message, Socket } from "../transport/transport.js";
import { BatchWriter } from "./batch-writer.js";
import { keepPolling } from "./busy-poll.js";
import { deferred } from "./deferred.js";
import { Inbox } from "./inbox.js";
import { formatHostPort } from "./net-address.js";
import { SENT } from "./sent.js";
import { deadlineSignal } from "./signals.js";

/** Messages buffered per socket before reading from the network pauses. */
const INBOX_HIGH_WATER = 256;
/** How long a closing connection may linger half-closed before it is destroyed (ms). */
const LINGER_MS = 2_000;

/** What a socket's inbox holds: messages, or the error that `recv` must report for one. */
export type InboxItem = Message | MicroError;

/**
 * The parts every transport socket on a TCP connection shares: received messages queue in an
 * {@link Inbox} (reading pauses past 256), outgoing ones go through a {@link BatchWriter}, and the
 * connection's end, loss or protocol error settles `recv`, iteration and {@link closed} alike.
 * A subclass parses its protocol in {@link onData} and hands over messages with {@link deliver}.
 *
 * A lost connection is a 503; a protocol error is what the subclass reports (400, 408, 413).
 */
export abstract class NetSocketBase implements Socket {
  readonly local: string;
  readonly remote: string;
  readonly closed: Promise<Error | undefined>;
  protected readonly inbox: Inbox<InboxItem>;
  protected readonly writer: BatchWriter;
  protected isClosed = false;
  /**
   * Milliseconds an incomplete message may wait for more bytes before the connection is closed
   * with {@link stalledError}; 0 waits forever. Idle connections (no message begun) never time out.
   */
  protected stallTimeoutMs = 0;
  /**
   * Milliseconds the process keeps polling after each message this socket sends or each read
   * ({@link keepPolling}); 0, the default, lets it sleep.
   */
  protected busyPollMs = 0;
  private readonly resolveClosed: (e: Error | undefined) => void;
  private timer: NodeJS.Timeout | undefined;
  private firstByte = 0;
  private lastByte = 0;

  constructor(
    protected readonly sock: NetSocket,
    /** The errors' id. */
    protected readonly id: string,
  ) {
    this.local = formatHostPort(sock.localAddress, sock.localPort);
    this.remote = formatHostPort(sock.remoteAddress, sock.remotePort);
    const d = deferred<Error | undefined>();
    this.closed = d.promise;
    this.resolveClosed = d.resolve;
    this.writer = new BatchWriter(sock, this.remote, id);
    this.inbox = new Inbox<InboxItem>(INBOX_HIGH_WATER, () => sock.resume());
    sock.on("data", (chunk: Buffer) => {
      keepPolling(this.busyPollMs);
      this.onData(chunk);
    });
    sock.on("end", () => this.onEnd());
    sock.on("error", (err: Error) => this.onSocketError(err));
    sock.on("close", () => this.markClosed(undefined));
  }

  abstract send(message: Message, options?: IoOptions): Promise<void>;

  /** Parses bytes read from the connection. */
  protected abstract onData(chunk: Buffer): void;

  /**
   * The peer finished sending. Default: the inbox ends once its queued messages are read; a
   * subclass with half a message buffered fails instead (`failEnd`).
   */
  protected onEnd(): void {
    this.inbox.end();
  }

  /** Runs once when the socket closes, for any reason (stop parsers). */
  protected onClosed(): void {}

  /** True while a message has begun arriving but is not complete. */
  protected abstract get partial(): boolean;

  /** The error a connection closes with when an incomplete message stalls. */
  protected abstract stalledError(timeoutMs: number): MicroError;

  /** What the peer is told before the connection closes on a protocol error; default nothing. */
  protected farewell(_error: MicroError): string | Uint8Array | undefined {
    return undefined;
  }

  /**
   * When a stalled message's time runs from: `firstByte` (when it began) or, by default,
   * `lastByte` (no gap between bytes may exceed the timeout).
   */
  protected stallSince(_firstByte: number, lastByte: number): number {
    return lastByte;
  }

  /**
   * Call after parsing each chunk: starts, restarts or stops the stall timer. `completed`: at least
   * one message was completed by this chunk (the incomplete one, if any, began in it).
   */
  protected watchStall(completed: boolean): void {
    const timeout = this.stallTimeoutMs;
    if (timeout <= 0 || this.isClosed) return;
    if (this.partial) {
      const now = Date.now();
      this.lastByte = now;
      if (this.timer === undefined || completed) {
        if (this.timer !== undefined) clearTimeout(this.timer);
        this.firstByte = now;
        this.timer = setTimeout(onStallTimer, timeout, this);
        this.timer.unref();
      }
    } else if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  /** The stall timer fired: closes the connection if the incomplete message is out of time. */
  checkStall(): void {
    this.timer = undefined;
    if (this.isClosed || !this.partial) return;
    const timeout = this.stallTimeoutMs;
    const left = this.stallSince(this.firstByte, this.lastByte) + timeout - Date.now();
    if (left > 0) {
      this.timer = setTimeout(onStallTimer, left, this);
      this.timer.unref();
      return;
    }
    this.protocolError(this.stalledError(timeout));
  }

  /** The 503 for sending on a closed connection. */
  protected sendClosed(): Promise<void> {
    return Promise.reject(
      MicroError.serviceUnavailable(this.id, `send to ${this.remote}: connection closed`),
    );
  }

  /**
   * What `send` returns once a message is committed to {@link writer}: resolved at once, or when
   * the connection's buffer drained (`commit` returned false), bounded by `options`.
   */
  protected sent(committed: boolean, options: IoOptions | undefined): Promise<void> {
    keepPolling(this.busyPollMs);
    return committed ? SENT : this.writer.waitDrain(options);
  }

  /** Queues a received message (or the error `recv` reports for it); pauses reading when full. */
  protected deliver(item: InboxItem): void {
    if (!this.inbox.push(item)) this.sock.pause();
  }

  async recv(options?: IoOptions): Promise<Message> {
    let item: InboxItem | undefined;
    if (options?.signal !== undefined || options?.timeoutMs !== undefined) {
      const what = `recv from ${this.remote}`;
      const d = deadlineSignal(this.id, what, options.signal, options.timeoutMs);
      try {
        item = await this.inbox.next(d.signal, this.id, what);
      } finally {
        d.cleanup();
      }
    } else {
      item = await this.inbox.next();
    }
    if (item === undefined) {
      throw MicroError.serviceUnavailable(this.id, `recv from ${this.remote}: connection closed`);
    }
    if (item instanceof MicroError) throw item;
    return item;
  }

  tryRecv(): Message | undefined {
    const item = this.inbox.shift();
    if (item instanceof MicroError) throw item;
    return item;
  }

  [Symbol.asyncIterator](): AsyncIterator<Message> {
    const inbox = this.inbox;
    return {
      // A queued message is handed over at once, without a second promise to wrap it.
      next: () => {
        const item = inbox.shift();
        if (item === undefined) return inbox.next().then(iterResult);
        return item instanceof MicroError
          ? Promise.reject(item)
          : Promise.resolve({ done: false, value: item });
      },
      return: () => Promise.resolve({ done: true, value: undefined }),
    };
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    this.writer.flush();
    this.markClosed(undefined);
    // end() flushes queued writes, then sends FIN; a peer that never closes is cut off later.
    this.sock.end();
    setTimeout(destroySocket, LINGER_MS, this.sock).unref();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * Input this side cannot accept: the socket fails with `error`; the {@link farewell} for it, if
   * any, is written to the peer before the connection closes (best effort), else it is cut at once.
   */
  protected protocolError(error: MicroError): void {
    if (this.isClosed) return;
    this.fail(error);
    const sock = this.sock;
    const farewell = sock.writable ? this.farewell(error) : undefined;
    if (farewell !== undefined) {
      sock.end(farewell);
      setTimeout(destroySocket, LINGER_MS, sock).unref();
    } else {
      sock.destroy();
    }
  }

  /** Fails the socket: queued messages are still read, then `recv` rejects with `error`. */
  protected fail(error: MicroError): void {
    this.inbox.fail(error);
    this.markClosed(error);
  }

  private onSocketError(err: Error): void {
    const code = (err as NodeJS.ErrnoException).code;
    this.fail(
      MicroError.serviceUnavailable(this.id, `connection to ${this.remote} lost: ${code ?? err.message}`, {
        cause: err,
      }),
    );
  }

  private markClosed(error: Error | undefined): void {
    if (this.isClosed) return;
    this.isClosed = true;
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.onClosed();
    this.inbox.end();
    this.resolveClosed(error);
  }
}

/**
 * Bytes `start` to `end` of `buf`, for a received message's body: a view when they are most of
 * the memory `buf` lies in (`whole` bytes: pass it when reading many bodies from one buffer, as
 * `buf.buffer.byteLength` costs a call into the engine), else a compact copy, so that a body kept
 * by the application never pins a whole socket read (small copies come from Node's shared pool).
 */
export function bodyBytes(buf: Buffer, start: number, end: number, whole = buf.buffer.byteLength): Buffer {
  const n = end - start;
  if (n * 2 >= whole) return buf.subarray(start, end);
  const copy = Buffer.allocUnsafe(n);
  buf.copy(copy, 0, start, end);
  return copy;
}

function onStallTimer(s: NetSocketBase): void {
  s.checkStall();
}

function destroySocket(sock: NetSocket): void {
  sock.destroy();
}

function iterResult(item: InboxItem | undefined): IteratorResult<Message> {
  if (item === undefined) return { done: true, value: undefined };
  if (item instanceof MicroError) throw item;
  return { done: false, value: item };
}
