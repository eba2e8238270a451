import type { Socket as NetSocket } from "node:net";
import type { IoOptions, Message, Socket } from "@microts/core";
import { MicroError, statusOf } from "@microts/core";
import { deadlineSignal, deferred, raceSignal } from "@microts/core/internal";
import { formatHostPort } from "./address.js";
import { HttpParser, type ParserSink } from "./http-parser.js";
import { errorResponse, requestHead, responseHead } from "./http-writer.js";
import { Inbox } from "./inbox.js";

const ID = "go.micro.transport";
/** The id of the error a client side reads for a non-200 response (the connection stays usable). */
export const RESPONSE_ERROR_ID = "go.micro.client.transport";
/** Messages buffered per socket before reading from the network pauses. */
const INBOX_HIGH_WATER = 256;
/** Bytes queued in one tick after which they are written at once rather than at the tick's end. */
const MAX_BATCH_BYTES = 16 * 1024;
/** Size of the shared buffers outgoing messages are written into. */
const SLAB_BYTES = 64 * 1024;
/** Messages whose head and body may take more than this get a buffer of their own. */
const MAX_SLAB_MESSAGE = 16 * 1024;
/**
 * Messages queued in one tick after which they are written at once. Shorter batches let the peer
 * start on the first messages while this side still produces the rest: with many small calls on
 * one connection, the two processes work side by side instead of taking turns.
 */
const MAX_BATCH_MESSAGES = 32;
/** How long a closing connection may linger half-closed before it is destroyed (ms). */
const LINGER_MS = 2_000;

/** Per-connection settings, resolved from the transport options. */
export interface SocketConfig {
  maxHeaderBytes: number;
  maxBodyBytes: number;
  /** 0 disables the timeout. */
  headerTimeoutMs: number;
}

type Item = Message | MicroError;

/**
 * One HTTP/1.1 connection carrying Go Micro transport messages. The client side writes each
 * message as a `POST /` request and reads an open-ended sequence of responses; the server side
 * reads requests and writes `200 OK` responses. Sends and receives are independent.
 *
 * Messages sent in the same tick leave in one write. Head and body are written into a buffer
 * shared by the process's sockets, where one socket's messages of a tick usually lie side by side,
 * so that write takes them without another copy.
 * Malformed, oversize or stalled input closes the connection; the error (400, 413, 408) is what
 * pending and later `recv` calls reject with. A lost connection is a 503.
 */
export class HttpSocket implements Socket, ParserSink {
  readonly local: string;
  readonly remote: string;
  readonly closed: Promise<Error | undefined>;
  private readonly resolveClosed: (e: Error | undefined) => void;
  private readonly inbox: Inbox<Item>;
  private readonly parser: HttpParser;
  private readonly role: "client" | "server";
  private isClosed = false;
  /** Queued bytes that are not part of the open run, in order; written by {@link flush}. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private pendingCount = 0;
  /** The open run: bytes `runStart` up to `runEnd` of `runSlab`, where the next message goes. */
  private runSlab: Buffer | undefined;
  private runStart = 0;
  private runEnd = 0;
  private drainWait: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private headStart = 0;
  private lastData = 0;
  private completed = 0;

  constructor(
    private readonly sock: NetSocket,
    role: "client" | "server",
    private readonly cfg: SocketConfig,
    /** Client side: the `Host` header value. */
    private readonly host = "",
    /** Client side: the request path, URL-encoded (the transport's is `/`, the broker's `/?id=…`). */
    private readonly path = "/",
  ) {
    this.role = role;
    this.local = formatHostPort(sock.localAddress, sock.localPort);
    this.remote = formatHostPort(sock.remoteAddress, sock.remotePort);
    const d = deferred<Error | undefined>();
    this.closed = d.promise;
    this.resolveClosed = d.resolve;
    this.inbox = new Inbox<Item>(INBOX_HIGH_WATER, () => sock.resume());
    this.parser = new HttpParser(role === "server" ? "request" : "response", cfg, this);
    sock.on("data", (chunk: Buffer) => this.onData(chunk));
    sock.on("end", () => this.onEnd());
    sock.on("error", (err: Error) => this.onSocketError(err));
    sock.on("close", () => this.onSocketClose());
  }

  send(message: Message, options?: IoOptions): Promise<void> {
    const sock = this.sock;
    if (this.isClosed || !sock.writable) {
      return Promise.reject(MicroError.serviceUnavailable(ID, `send to ${this.remote}: connection closed`));
    }
    const head = this.role === "client" ? requestHead(this.host, message, this.path) : responseHead(message);
    const body = message.body;
    // A head takes at most 3 bytes per UTF-16 unit.
    const most = head.length * 3 + body.length;
    let size: number;
    if (most > MAX_SLAB_MESSAGE) {
      // Head and body in one buffer of its own: one write instead of a two-part writev.
      this.closeRun();
      const headLen = Buffer.byteLength(head, "utf8");
      const frame = Buffer.allocUnsafe(headLen + body.length);
      frame.write(head, 0, headLen, "utf8");
      frame.set(body, headLen);
      this.pending.push(frame);
      size = frame.length;
    } else {
      size = this.appendToSlab(head, body, most);
    }
    this.pendingBytes += size;
    if (++this.pendingCount === 1) process.nextTick(flushSocket, this);
    if (this.pendingBytes >= MAX_BATCH_BYTES || this.pendingCount >= MAX_BATCH_MESSAGES) {
      if (!this.flush()) return this.waitDrain(options);
    } else if (sock.writableNeedDrain) {
      return this.waitDrain(options);
    }
    return RESOLVED;
  }

  async recv(options?: IoOptions): Promise<Message> {
    let item: Item | undefined;
    if (options?.signal !== undefined || options?.timeoutMs !== undefined) {
      const what = `recv from ${this.remote}`;
      const d = deadlineSignal(ID, what, options.signal, options.timeoutMs);
      try {
        item = await this.inbox.next(d.signal, ID, what);
      } finally {
        d.cleanup();
      }
    } else {
      item = await this.inbox.next();
    }
    if (item === undefined) {
      throw MicroError.serviceUnavailable(ID, `recv from ${this.remote}: connection closed`);
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
    this.flush();
    this.markClosed(undefined);
    // end() flushes queued writes, then sends FIN; a peer that never closes is cut off later.
    this.sock.end();
    setTimeout(destroySocket, LINGER_MS, this.sock).unref();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * Writes the frames queued during this tick: one `write`, of one buffer or of the frames joined
   * (fewer syscalls when a stream sends many messages at once).
   */
  flush(): boolean {
    if (this.pendingCount === 0) return true;
    this.closeRun();
    const parts = this.pending;
    // Bytes that will wait in the socket's queue (the peer reads slowly, or not at all) are copied
    // out of the shared slab: a view would keep all 64 KiB of it alive, for every such write.
    const data =
      parts.length === 1 && this.sock.writableLength === 0
        ? (parts[0] as Buffer)
        : Buffer.concat(parts, this.pendingBytes);
    parts.length = 0;
    this.pendingBytes = 0;
    this.pendingCount = 0;
    if (this.isClosed && !this.sock.writable) return true;
    return this.sock.write(data);
  }

  /**
   * Writes head and body at the end of the shared slab; returns the bytes written. The message
   * extends the open run when the run ends where the slab does (no other socket wrote since), so
   * the messages of one tick usually leave as one view of the slab, without another copy.
   */
  private appendToSlab(head: string, body: Uint8Array, most: number): number {
    if (slab.length - slabUsed < most) {
      this.closeRun();
      slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
      slabUsed = 0;
    } else if (this.runSlab !== slab || this.runEnd !== slabUsed) {
      this.closeRun();
    }
    if (this.runSlab === undefined) {
      this.runSlab = slab;
      this.runStart = slabUsed;
    }
    const start = slabUsed;
    const bodyAt = start + slab.write(head, start, "utf8");
    slab.set(body, bodyAt);
    slabUsed = bodyAt + body.length;
    this.runEnd = slabUsed;
    return slabUsed - start;
  }

  /** Moves the open run, if any, to the pending parts. */
  private closeRun(): void {
    if (this.runSlab === undefined) return;
    this.pending.push(this.runSlab.subarray(this.runStart, this.runEnd));
    this.runSlab = undefined;
  }

  // ---- ParserSink -------------------------------------------------------------------------

  onMessage(header: Record<string, string>, body: Uint8Array, status: number, reason: string): void {
    this.completed++;
    let item: Item;
    if (this.role === "client" && status !== 200) {
      // Go's client: a non-200 response is a transport error "<Status>: <body>".
      const text = Buffer.from(body.buffer, body.byteOffset, body.length).toString("utf8");
      item = MicroError.internalServerError(
        RESPONSE_ERROR_ID,
        `${status}${reason ? ` ${reason}` : ""}: ${text}`,
      );
    } else {
      item = { header, body };
    }
    if (!this.inbox.push(item)) this.sock.pause();
  }

  onError(error: MicroError): void {
    this.protocolError(error);
  }

  // ---- connection events ------------------------------------------------------------------

  private onData(chunk: Buffer): void {
    const before = this.completed;
    this.parser.push(chunk);
    const timeout = this.cfg.headerTimeoutMs;
    if (timeout <= 0 || this.isClosed) return;
    if (this.parser.busy) {
      const now = Date.now();
      this.lastData = now;
      if (this.timer === undefined || this.completed !== before) {
        if (this.timer !== undefined) clearTimeout(this.timer);
        this.headStart = now;
        this.timer = setTimeout(onTimer, timeout, this);
        this.timer.unref();
      }
    } else if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  /** The read timer fired: the header block must be complete within the timeout of its first
   *  byte; a body must keep arriving (no gap longer than the timeout). */
  checkTimeout(): void {
    this.timer = undefined;
    if (this.isClosed || !this.parser.busy) return;
    const timeout = this.cfg.headerTimeoutMs;
    const since = this.parser.inHead ? this.headStart : this.lastData;
    const left = since + timeout - Date.now();
    if (left > 0) {
      this.timer = setTimeout(onTimer, left, this);
      this.timer.unref();
      return;
    }
    const what = this.role === "server" ? "request" : "response";
    const part = this.parser.inHead ? "header" : "body";
    this.protocolError(
      MicroError.timeout(ID, `timed out after ${timeout}ms reading a ${what} ${part} from ${this.remote}`),
    );
  }

  private onEnd(): void {
    if (this.parser.end()) {
      this.fail(
        MicroError.serviceUnavailable(ID, `connection closed by ${this.remote} in the middle of a message`),
      );
    } else {
      this.inbox.end();
    }
  }

  private onSocketError(err: Error): void {
    const code = (err as NodeJS.ErrnoException).code;
    this.fail(
      MicroError.serviceUnavailable(ID, `connection to ${this.remote} lost: ${code ?? err.message}`, {
        cause: err,
      }),
    );
  }

  private onSocketClose(): void {
    this.parser.stop();
    this.markClosed(undefined);
  }

  /** Input we cannot accept: fail the socket, tell a client why (best effort), close. */
  private protocolError(error: MicroError): void {
    if (this.isClosed) return;
    this.fail(error);
    const sock = this.sock;
    if (this.role === "server" && sock.writable) {
      sock.end(errorResponse(error.code, statusOf(error.code) || "Bad Request", error.detail));
      setTimeout(destroySocket, LINGER_MS, sock).unref();
    } else {
      sock.destroy();
    }
  }

  private fail(error: MicroError): void {
    this.inbox.fail(error);
    this.markClosed(error);
  }

  private markClosed(error: Error | undefined): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.parser.stop();
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.inbox.end();
    this.resolveClosed(error);
  }

  private waitDrain(options: IoOptions | undefined): Promise<void> {
    const sock = this.sock;
    if (this.drainWait === undefined) {
      this.drainWait = new Promise<void>((resolve) => {
        const done = () => {
          sock.off("drain", done);
          sock.off("close", done);
          this.drainWait = undefined;
          resolve();
        };
        sock.on("drain", done);
        sock.on("close", done);
      });
    }
    const wait = this.drainWait.then(() => {
      if (sock.destroyed && this.isClosed && !sock.writableFinished) {
        throw MicroError.serviceUnavailable(ID, `send to ${this.remote}: connection closed`);
      }
    });
    if (options?.signal === undefined && options?.timeoutMs === undefined) return wait;
    const what = `send to ${this.remote}`;
    const d = deadlineSignal(ID, what, options.signal, options.timeoutMs);
    return raceSignal(wait, d.signal, ID, what).finally(d.cleanup);
  }
}

const RESOLVED = Promise.resolve();

/**
 * The buffer every socket of the process writes its outgoing messages into, from `slabUsed` on.
 * A full one is replaced, and lives on until the writes that view it are done.
 */
let slab = Buffer.allocUnsafeSlow(0);
let slabUsed = 0;

function flushSocket(s: HttpSocket): void {
  s.flush();
}

function onTimer(s: HttpSocket): void {
  s.checkTimeout();
}

function destroySocket(sock: NetSocket): void {
  sock.destroy();
}

function iterResult(item: Item | undefined): IteratorResult<Message> {
  if (item === undefined) return { done: true, value: undefined };
  if (item instanceof MicroError) throw item;
  return { done: false, value: item };
}
