import type { Socket as NetSocket } from "node:net";
import type { IoOptions, Message } from "@microts/core";
import { MicroError, statusOf } from "@microts/core";
import { NetSocketBase } from "@microts/core/internal";
import { HttpParser, type ParserSink } from "./http-parser.js";
import { errorResponse, requestHead, responseHead } from "./http-writer.js";

const ID = "go.micro.transport";
/** The id of the error a client side reads for a non-200 response (the connection stays usable). */
export const RESPONSE_ERROR_ID = "go.micro.client.transport";

/** Per-connection settings, resolved from the transport options. */
export interface SocketConfig {
  maxHeaderBytes: number;
  maxBodyBytes: number;
  /** 0 disables the timeout. */
  headerTimeoutMs: number;
}

/**
 * One HTTP/1.1 connection carrying Go Micro transport messages. The client side writes each
 * message as a `POST /` request and reads an open-ended sequence of responses; the server side
 * reads requests and writes `200 OK` responses. Sends and receives are independent.
 *
 * Messages sent in the same tick leave in one write. Malformed, oversize or stalled input closes
 * the connection (a server answers it with an HTTP error first); the error (400, 413, 408) is
 * what pending and later `recv` calls reject with. A lost connection is a 503.
 */
export class HttpSocket extends NetSocketBase implements ParserSink {
  private readonly parser: HttpParser;
  private completed = 0;

  constructor(
    sock: NetSocket,
    private readonly role: "client" | "server",
    cfg: SocketConfig,
    /** Client side: the `Host` header value. */
    private readonly host = "",
    /** Client side: the request path, URL-encoded (the transport's is `/`, the broker's `/?id=…`). */
    private readonly path = "/",
  ) {
    super(sock, ID);
    this.stallTimeoutMs = cfg.headerTimeoutMs;
    this.parser = new HttpParser(role === "server" ? "request" : "response", cfg, this);
  }

  send(message: Message, options?: IoOptions): Promise<void> {
    if (this.isClosed || !this.sock.writable) return this.sendClosed();
    const head = this.role === "client" ? requestHead(this.host, message, this.path) : responseHead(message);
    const body = message.body;
    const w = this.writer;
    // A head takes at most 3 bytes per UTF-16 unit.
    const buf = w.reserve(head.length * 3 + body.length);
    const bodyAt = w.at + buf.write(head, w.at, "utf8");
    buf.set(body, bodyAt);
    return this.sent(w.commit(bodyAt + body.length), options);
  }

  // ---- ParserSink -------------------------------------------------------------------------

  onMessage(header: Record<string, string>, body: Uint8Array, status: number, reason: string): void {
    this.completed++;
    if (this.role === "client" && status !== 200) {
      // Go's client: a non-200 response is a transport error "<Status>: <body>".
      const text = Buffer.from(body.buffer, body.byteOffset, body.length).toString("utf8");
      this.deliver(
        MicroError.internalServerError(RESPONSE_ERROR_ID, `${status}${reason ? ` ${reason}` : ""}: ${text}`),
      );
    } else {
      this.deliver({ header, body });
    }
  }

  onError(error: MicroError): void {
    this.protocolError(error);
  }

  // ---- NetSocketBase ----------------------------------------------------------------------

  protected onData(chunk: Buffer): void {
    const before = this.completed;
    this.parser.push(chunk);
    this.watchStall(this.completed !== before);
  }

  protected get partial(): boolean {
    return this.parser.busy;
  }

  /** The header block must be complete within the timeout of its first byte; a body must keep
   *  arriving (no gap longer than the timeout). */
  protected override stallSince(firstByte: number, lastByte: number): number {
    return this.parser.inHead ? firstByte : lastByte;
  }

  protected stalledError(timeoutMs: number): MicroError {
    const what = this.role === "server" ? "request" : "response";
    const part = this.parser.inHead ? "header" : "body";
    return MicroError.timeout(
      ID,
      `timed out after ${timeoutMs}ms reading a ${what} ${part} from ${this.remote}`,
    );
  }

  /** A server tells the client why, as an HTTP error response. */
  protected override farewell(error: MicroError): string | undefined {
    if (this.role !== "server") return undefined;
    return errorResponse(error.code, statusOf(error.code) || "Bad Request", error.detail);
  }

  protected override onEnd(): void {
    if (this.parser.end()) {
      this.fail(
        MicroError.serviceUnavailable(ID, `connection closed by ${this.remote} in the middle of a message`),
      );
    } else {
      super.onEnd();
    }
  }

  protected override onClosed(): void {
    this.parser.stop();
  }
}
