import type { Socket as NetSocket } from "node:net";
import type { IoOptions, Message } from "@microts/core";
import { Code, MicroError } from "@microts/core";
import { bodyBytes, NetSocketBase } from "@microts/core/internal";
import { FRAME_HEAD, FrameKind, frameBytes, HeaderDecoder, HeaderEncoder, PREFACE } from "./frame.js";

const ID = "go.micro.transport";

/** Per-connection settings, resolved from the transport options. */
export interface TcpSocketConfig {
  maxHeaderBytes: number;
  maxBodyBytes: number;
  /** 0 disables the timeout. */
  frameTimeoutMs: number;
  /** Milliseconds the process keeps polling after each message (see `NetSocketBase`); 0: off. */
  busyPollMs: number;
}

/** The answer to an HTTP request on a micro-ts TCP port, so that a misconfigured peer learns why. */
const HTTP_REFUSAL = (() => {
  const text = "400 Bad Request: this port speaks the micro-ts TCP transport, not HTTP\n";
  return `HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\nContent-Length: ${text.length}\r\n\r\n${text}`;
})();

/**
 * One connection of the micro-ts TCP transport (see `frame.ts` for the wire format). Both sides
 * first exchange the 8-byte preface; then each message is one length-prefixed frame whose header
 * entries are mostly one-byte references to earlier ones. Messages sent in the same tick leave in
 * one write.
 *
 * Malformed input (a wrong preface, a bad frame), oversize frames and stalled frames close the
 * connection: the peer is told why in an error frame, and pending and later `recv` calls reject
 * with 400, 413 or 408. An error frame received rejects them with the peer's error. A lost
 * connection is a 503.
 */
export class TcpSocket extends NetSocketBase {
  private readonly encoder = new HeaderEncoder();
  private readonly decoder = new HeaderDecoder();
  /** Bytes of the peer's preface still to check. */
  private prefaceLeft = PREFACE.length;
  /** The peer sent an HTTP request line instead of the preface. */
  private httpPeer = false;
  /** An incomplete frame's bytes, and how many bytes complete it (or its length prefix). */
  private chunks: Buffer[] = [];
  private buffered = 0;
  private need = 4;
  /** Largest frame accepted: kind, entry count, header block and body. */
  private readonly maxFrame: number;

  constructor(
    sock: NetSocket,
    private readonly role: "client" | "server",
    private readonly cfg: TcpSocketConfig,
  ) {
    super(sock, ID);
    this.stallTimeoutMs = cfg.frameTimeoutMs;
    this.busyPollMs = cfg.busyPollMs;
    this.maxFrame = 1 + 5 + cfg.maxHeaderBytes + cfg.maxBodyBytes;
    // The server answers with its preface once it has seen the client's (an HTTP client that
    // dialled the wrong port gets an HTTP answer instead).
    if (role === "client") sock.write(PREFACE);
  }

  send(message: Message, options?: IoOptions): Promise<void> {
    if (this.isClosed || !this.sock.writable) return this.sendClosed();
    const body = message.body;
    if (body.length > this.cfg.maxBodyBytes) {
      return Promise.reject(
        new MicroError(
          ID,
          `send to ${this.remote}: body of ${body.length} bytes exceeds the limit of ${this.cfg.maxBodyBytes}`,
          Code.PayloadTooLarge,
        ),
      );
    }
    let n: number;
    try {
      n = this.encoder.encode(message.header, this.cfg.maxHeaderBytes);
    } catch (err) {
      return Promise.reject(err);
    }
    const w = this.writer;
    const length = 1 + n + body.length;
    const buf = w.reserve(4 + length);
    const at = w.at;
    buf.writeUInt32BE(length, at);
    buf[at + 4] = FrameKind.Message;
    const start = this.encoder.start;
    HeaderEncoder.buffer.copy(buf, at + FRAME_HEAD, start, start + n);
    buf.set(body, at + FRAME_HEAD + n);
    return this.sent(w.commit(at + 4 + length), options);
  }

  protected onData(chunk: Buffer): void {
    if (this.prefaceLeft > 0) {
      chunk = this.checkPreface(chunk);
      if (chunk.length === 0) return;
    }
    let completed = false;
    // A frame begun in earlier reads is completed first, joining only its own bytes; the frames
    // after it are read in place.
    while (this.buffered > 0 && !this.isClosed) {
      if (this.buffered + chunk.length < this.need) {
        this.stash(chunk);
        this.watchStall(completed);
        return;
      }
      const take = this.need - this.buffered;
      this.chunks.push(take === chunk.length ? chunk : chunk.subarray(0, take));
      const joined = Buffer.concat(this.chunks, this.need);
      chunk = chunk.subarray(take);
      this.chunks = [];
      this.buffered = 0;
      this.need = 4;
      if (this.frames(joined) > 0) completed = true;
      // Only the length was complete: the frame still needs the bytes `frames` set `need` to.
      else if (!this.isClosed) this.stash(joined);
    }
    if (chunk.length > 0 && !this.isClosed) {
      const off = this.frames(chunk);
      if (off > 0) completed = true;
      if (off < chunk.length && !this.isClosed) this.stash(chunk.subarray(off));
    }
    this.watchStall(completed);
  }

  /** Keeps bytes of an incomplete frame until the rest arrives. */
  private stash(bytes: Buffer): void {
    this.chunks.push(bytes);
    this.buffered += bytes.length;
  }

  /** Reads the whole frames in `buf`; returns where the first incomplete one starts. */
  private frames(buf: Buffer): number {
    let off = 0;
    const whole = buf.buffer.byteLength;
    while (buf.length - off >= 4 && !this.isClosed) {
      const length = buf.readUInt32BE(off);
      if (length === 0 || length > this.maxFrame) {
        if (length === 0) this.protocolError(MicroError.badRequest(ID, "malformed frame: empty"));
        else this.protocolError(tooLarge(`frame of ${length} bytes`, this.maxFrame));
        return off;
      }
      const end = off + 4 + length;
      if (end > buf.length) {
        this.need = end - off;
        return off;
      }
      this.frame(buf, off + 4, end, whole);
      off = end;
    }
    return off;
  }

  /**
   * One complete frame: `buf[start]` is its kind, `end` where it ends; `whole` is the size of the
   * memory `buf` lies in (see `bodyBytes`).
   */
  private frame(buf: Buffer, start: number, end: number, whole: number): void {
    const kind = buf[start];
    if (kind === FrameKind.Message) {
      let header: Record<string, string>;
      try {
        header = this.decoder.decode(buf, start + 1, end);
      } catch (err) {
        this.protocolError(MicroError.from(err, ID, Code.BadRequest));
        return;
      }
      const bodyAt = this.decoder.end;
      if (bodyAt - start - 1 > this.cfg.maxHeaderBytes + 5) {
        this.protocolError(tooLarge(`header block of ${bodyAt - start - 1} bytes`, this.cfg.maxHeaderBytes));
        return;
      }
      if (end - bodyAt > this.cfg.maxBodyBytes) {
        this.protocolError(tooLarge(`body of ${end - bodyAt} bytes`, this.cfg.maxBodyBytes));
        return;
      }
      this.deliver({ header, body: bodyBytes(buf, bodyAt, end, whole) });
    } else if (kind === FrameKind.Error) {
      // The peer closes the connection and says why.
      const text = buf.toString("utf8", start + 1, end);
      this.fail(peerError(text, this.remote));
      this.sock.destroy();
    } else {
      this.protocolError(MicroError.badRequest(ID, `malformed frame: unknown kind ${kind}`));
    }
  }

  /** Checks the peer's preface bytes at the start of `chunk`; returns the bytes after them. */
  private checkPreface(chunk: Buffer): Buffer {
    const from = PREFACE.length - this.prefaceLeft;
    const n = Math.min(this.prefaceLeft, chunk.length);
    if (PREFACE.compare(chunk, 0, n, from, from + n) !== 0) {
      const seen = chunk.toString("latin1", 0, Math.min(chunk.length, 24));
      // An HTTP client that dialled this port by mistake is told so in HTTP (see `farewell`).
      this.httpPeer = this.role === "server" && from === 0 && /^[A-Z]{3,7} /.test(seen);
      this.protocolError(
        MicroError.badRequest(
          ID,
          `${this.remote} does not speak the micro-ts TCP transport (it sent ${JSON.stringify(seen)})`,
        ),
      );
      return EMPTY;
    }
    this.prefaceLeft -= n;
    if (this.prefaceLeft === 0 && this.role === "server") this.sock.write(PREFACE);
    return n === chunk.length ? EMPTY : chunk.subarray(n);
  }

  protected get partial(): boolean {
    return this.buffered > 0;
  }

  protected stalledError(timeoutMs: number): MicroError {
    return MicroError.timeout(ID, `timed out after ${timeoutMs}ms reading a frame from ${this.remote}`);
  }

  /**
   * The peer is told why in an error frame once it has shown it speaks the protocol; an HTTP
   * client that sent a request line instead gets an HTTP 400; anything else is cut off.
   */
  protected override farewell(error: MicroError): string | Uint8Array | undefined {
    if (this.prefaceLeft > 0) return this.httpPeer ? HTTP_REFUSAL : undefined;
    return frameBytes(FrameKind.Error, Buffer.from(String(error), "utf8"));
  }

  protected override onEnd(): void {
    if (this.buffered > 0) {
      this.fail(
        MicroError.serviceUnavailable(ID, `connection closed by ${this.remote} in the middle of a frame`),
      );
    } else {
      super.onEnd();
    }
  }

  protected override onClosed(): void {
    this.chunks = [];
    this.buffered = 0;
  }
}

const EMPTY = Buffer.alloc(0);

function tooLarge(what: string, limit: number): MicroError {
  return new MicroError(ID, `${what} exceeds the limit of ${limit} bytes`, Code.PayloadTooLarge);
}

/**
 * The error an error frame carries. A peer of this protocol always sends a MicroError's JSON, so
 * anything else (empty, not JSON, no positive code) is a malformed frame: 400, quoting what it held.
 */
function peerError(text: string, remote: string): MicroError {
  const parsed = MicroError.parse(text);
  if (parsed.code > 0)
    return new MicroError(parsed.id || ID, `${remote} closed the connection: ${parsed.detail}`, parsed.code);
  const held = JSON.stringify(text.length > 64 ? `${text.slice(0, 64)}…` : text);
  return MicroError.badRequest(
    ID,
    `malformed frame: ${remote} closed the connection with an error frame that holds no error (${held})`,
  );
}
