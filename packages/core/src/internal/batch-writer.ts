import type { Socket as NetSocket } from "node:net";
import type { IoOptions } from "../context/call-options.js";
import { MicroError } from "../errors/micro-error.js";
import { deadlineSignal, raceSignal } from "./signals.js";

/** Bytes queued in one tick after which they are written at once rather than at the tick's end. */
const MAX_BATCH_BYTES = 16 * 1024;
/**
 * Messages queued in one tick after which they are written at once. Shorter batches let the peer
 * start on the first messages while this side still produces the rest: with many small calls on
 * one connection, the two processes work side by side instead of taking turns.
 */
const MAX_BATCH_MESSAGES = 32;
/** Size of the shared buffers outgoing messages are written into. */
const SLAB_BYTES = 64 * 1024;
/** Messages that may take more than this get a buffer of their own. */
const MAX_SLAB_MESSAGE = 16 * 1024;

/**
 * The write side of a framed TCP connection: messages queued during one tick leave in one
 * `write`, at the tick's end (or at once past 32 messages or 16 KiB). Messages are encoded into a
 * buffer shared by the process's connections, where one connection's messages of a tick usually
 * lie side by side, so that write takes them without another copy.
 *
 * To queue a message: `const buf = w.reserve(most)`, encode it into `buf` from `w.at`, then
 * `w.commit(end)` with the offset just past it. `most` must bound what is written.
 */
export class BatchWriter {
  /** Where {@link reserve}'s buffer has room for the next message. */
  at = 0;
  /** Queued bytes that are not part of the open run, in order; written by {@link flush}. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private pendingCount = 0;
  /** The open run: bytes `runStart` up to `runEnd` of `runSlab`, where the next message goes. */
  private runSlab: Buffer | undefined;
  private runStart = 0;
  private runEnd = 0;
  /** The buffer of the message being encoded, when it got one of its own. */
  private own: Buffer | undefined;
  private drainWait: Promise<void> | undefined;

  constructor(
    private readonly sock: NetSocket,
    /** The peer, for error details. */
    private readonly remote: string,
    /** The errors' id. */
    private readonly id = "go.micro.transport",
  ) {}

  /** A buffer with at least `most` bytes free from {@link at}. */
  reserve(most: number): Buffer {
    if (most > MAX_SLAB_MESSAGE) {
      this.closeRun();
      this.own = Buffer.allocUnsafe(most);
      this.at = 0;
      return this.own;
    }
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
    this.at = slabUsed;
    return slab;
  }

  /**
   * Queues the message encoded from {@link at} up to `end`. True when the caller may go on; false
   * when the connection's buffer is full and the caller should {@link waitDrain}.
   */
  commit(end: number): boolean {
    const own = this.own;
    if (own !== undefined) {
      this.own = undefined;
      this.pending.push(end === own.length ? own : own.subarray(0, end));
      this.pendingBytes += end;
    } else {
      this.pendingBytes += end - slabUsed;
      slabUsed = end;
      this.runEnd = end;
    }
    if (++this.pendingCount === 1) process.nextTick(flushWriter, this);
    if (this.pendingBytes >= MAX_BATCH_BYTES || this.pendingCount >= MAX_BATCH_MESSAGES) return this.flush();
    return !this.sock.writableNeedDrain;
  }

  /**
   * Writes what was queued: one `write`, of one buffer or of the parts joined (fewer syscalls when
   * a stream sends many messages at once). False when the connection's buffer is full.
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
    if (!this.sock.writable) return true;
    return this.sock.write(data);
  }

  /**
   * Resolves when the connection's buffer drained; rejects with 503 when the connection closed
   * with data unsent, or with the options' deadline (408) or abort reason.
   */
  waitDrain(options: IoOptions | undefined): Promise<void> {
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
    const what = `send to ${this.remote}`;
    const wait = this.drainWait.then(() => {
      if (sock.destroyed && !sock.writableFinished) {
        throw MicroError.serviceUnavailable(this.id, `${what}: connection closed`);
      }
    });
    if (options?.signal === undefined && options?.timeoutMs === undefined) return wait;
    const d = deadlineSignal(this.id, what, options.signal, options.timeoutMs);
    return raceSignal(wait, d.signal, this.id, what).finally(d.cleanup);
  }

  /** Moves the open run, if any, to the pending parts. */
  private closeRun(): void {
    if (this.runSlab === undefined) return;
    this.pending.push(this.runSlab.subarray(this.runStart, this.runEnd));
    this.runSlab = undefined;
  }
}

/**
 * The buffer every connection of the process encodes its outgoing messages into, from
 * `slabUsed` on. A full one is replaced, and lives on until the writes that view it are done.
 */
let slab = Buffer.allocUnsafeSlow(0);
let slabUsed = 0;

function flushWriter(w: BatchWriter): void {
  w.flush();
}
