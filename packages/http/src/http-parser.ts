import { MicroError } from "@microts/core";
import { bodyBytes } from "@microts/core/internal";
import { isToken } from "./header-key.js";

/** Receives what {@link HttpParser} finds. */
export interface ParserSink {
  /** One complete message. `status` and `reason` are 0 and "" for requests. */
  onMessage(header: Record<string, string>, body: Uint8Array, status: number, reason: string): void;
  /** The stream is malformed or too large; the parser ignores everything after this. */
  onError(error: MicroError): void;
}

/** Limits applied while parsing; bytes. */
export interface ParserLimits {
  maxHeaderBytes: number;
  maxBodyBytes: number;
}

const HEAD = 0;
const BODY_CL = 1;
const CHUNK_SIZE = 2;
const CHUNK_DATA = 3;
const CHUNK_CRLF = 4;
const TRAILER = 5;
const BODY_EOF = 6;
const FAILED = 7;

const LF_CRLF = Buffer.from("\n\r\n", "latin1");
const LF_LF = Buffer.from("\n\n", "latin1");
const MAX_CHUNK_LINE = 4096;
const EMPTY = new Uint8Array(0);
const ID = "go.micro.transport";

/**
 * An incremental HTTP/1.1 parser for a stream of requests (server side) or responses (client side)
 * on one connection, as Go Micro's HTTP transport exchanges them. Bodies are framed by
 * `Content-Length` or `Transfer-Encoding: chunked`; a response with neither ends at EOF.
 *
 * Header names are kept as received, the first value of a repeated name wins (Go flattens the
 * same way), values are decoded as UTF-8 with surrounding spaces trimmed. `Host`,
 * `Content-Length` and `Transfer-Encoding` describe the HTTP envelope and are not reported.
 * Bodies are views of the received bytes where that saves a copy of a large body.
 *
 * Errors (reported once through `onError`): 400 for a malformed start line, header line, length
 * or chunk; 413 when the header block exceeds `maxHeaderBytes` or the body `maxBodyBytes`.
 */
export class HttpParser {
  private phase = HEAD;
  private buf: Buffer | undefined;
  private scanFrom = 0;
  private header: Record<string, string> = {};
  private status = 0;
  private reason = "";
  private remaining = 0;
  private bodyLen = 0;
  private parts: Buffer[] = [];
  private trailerBytes = 0;

  constructor(
    private readonly mode: "request" | "response",
    private readonly limits: ParserLimits,
    private readonly sink: ParserSink,
  ) {}

  /** True while a message has started and is not complete. */
  get busy(): boolean {
    return this.phase !== HEAD ? this.phase !== FAILED : this.buf !== undefined;
  }

  /** True while the header block of a started message is incomplete. */
  get inHead(): boolean {
    return this.phase === HEAD && this.buf !== undefined;
  }

  /** Feeds bytes from the connection. */
  push(chunk: Buffer): void {
    if (this.phase === FAILED) return;
    let data = chunk;
    if (this.buf !== undefined) {
      data = Buffer.concat([this.buf, chunk]);
      this.buf = undefined;
    }
    let off = 0;
    const len = data.length;
    while (off < len) {
      switch (this.phase) {
        case HEAD:
          off = this.readHead(data, off);
          break;
        case BODY_CL:
        case CHUNK_DATA: {
          const avail = len - off;
          if (avail < this.remaining) {
            this.parts.push(off === 0 ? data : data.subarray(off));
            this.remaining -= avail;
            off = len;
            break;
          }
          const end = off + this.remaining;
          this.parts.push(data.subarray(off, end));
          this.remaining = 0;
          off = end;
          if (this.phase === BODY_CL) this.finish();
          else this.phase = CHUNK_CRLF;
          break;
        }
        case CHUNK_SIZE:
          off = this.readChunkSize(data, off);
          break;
        case CHUNK_CRLF: {
          const c = data[off];
          if (c === 10) off += 1;
          else if (c === 13) {
            if (off + 1 >= len) {
              this.stash(data, off);
              return;
            }
            if (data[off + 1] !== 10) {
              this.fail(400, "malformed chunked body: missing CRLF after chunk");
              return;
            }
            off += 2;
          } else {
            this.fail(400, "malformed chunked body: missing CRLF after chunk");
            return;
          }
          this.phase = CHUNK_SIZE;
          break;
        }
        case TRAILER:
          off = this.readTrailer(data, off);
          break;
        case BODY_EOF:
          this.bodyLen += len - off;
          if (this.bodyLen > this.limits.maxBodyBytes) {
            this.tooLarge("body", this.bodyLen);
            return;
          }
          this.parts.push(off === 0 ? data : data.subarray(off));
          off = len;
          break;
        default:
          return;
      }
    }
  }

  /**
   * The connection reached EOF. Completes a body that runs until EOF; returns true when a message
   * was cut short (the caller reports the lost connection).
   */
  end(): boolean {
    if (this.phase === BODY_EOF) {
      this.finish();
      return false;
    }
    const truncated = this.busy;
    this.phase = FAILED;
    return truncated;
  }

  /** Stops parsing; later input is ignored. */
  stop(): void {
    this.phase = FAILED;
    this.buf = undefined;
    this.parts = [];
  }

  private readHead(data: Buffer, start: number): number {
    const len = data.length;
    let off = start;
    // Tolerate stray blank lines between messages (RFC 9112 §2.2). A stash never starts with one.
    while (off < len && (data[off] === 13 || data[off] === 10)) off++;
    if (off === len) return len;
    const from = off + this.scanFrom;
    let idx = data.indexOf(LF_CRLF, from);
    let skip = 3;
    if (idx < 0) {
      idx = data.indexOf(LF_LF, from);
      skip = 2;
    } else if (idx - off > this.limits.maxHeaderBytes) {
      // Too far for a head: unless a bare-LF blank line ends it sooner.
      const bare = data.subarray(from, idx).indexOf(LF_LF);
      if (bare >= 0) {
        idx = from + bare;
        skip = 2;
      }
    }
    if (idx < 0) {
      if (len - off > this.limits.maxHeaderBytes) {
        this.tooLarge("header block");
        return len;
      }
      this.stash(data, off);
      this.scanFrom = Math.max(0, len - off - 2);
      return len;
    }
    this.scanFrom = 0;
    if (idx - off > this.limits.maxHeaderBytes) {
      this.tooLarge("header block");
      return len;
    }
    let text = data.toString("utf8", off, idx);
    if (skip === 3 && text.indexOf("\n\n") >= 0) {
      // A bare-LF blank line ends the head before the CRLF one (rare: mixed line ends). Earlier
      // bytes were scanned before they were stashed, so the decoded head covers every candidate.
      idx = off + data.subarray(off, idx).indexOf(LF_LF);
      skip = 2;
      text = data.toString("utf8", off, idx);
    }
    if (!this.parseHead(text)) return len;
    return idx + skip;
  }

  /** Parses the start line and header lines, then sets up the body. False after a failure. */
  private parseHead(text: string): boolean {
    let eol = text.indexOf("\n");
    if (eol < 0) eol = text.length;
    const first = stripCR(text.slice(0, eol));
    let status = 0;
    let reason = "";
    if (this.mode === "request") {
      const sp1 = first.indexOf(" ");
      const sp2 = sp1 < 0 ? -1 : first.indexOf(" ", sp1 + 1);
      const version = first.slice(sp2 + 1);
      if (
        sp1 <= 0 ||
        sp2 <= sp1 + 1 ||
        (version !== "HTTP/1.1" && version !== "HTTP/1.0") ||
        ((sp1 !== 4 || !first.startsWith("POST")) && !isToken(first.slice(0, sp1)))
      ) {
        this.fail(400, `malformed request line ${quote(first)}`);
        return false;
      }
    } else if (first === "HTTP/1.1 200 OK") {
      status = 200;
      reason = "OK";
    } else {
      const m = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(first);
      if (!m) {
        this.fail(400, `malformed status line ${quote(first)}`);
        return false;
      }
      status = Number(m[1]);
      reason = m[2] ?? "";
    }
    const header: Record<string, string> = {};
    let contentLength = -1;
    let chunked = false;
    // Header lines are read in place: no string per line, only the key and the value.
    const size = text.length;
    for (let start = eol + 1; eol < size; start = eol + 1) {
      eol = text.indexOf("\n", start);
      if (eol < 0) eol = size;
      const end = eol > start && text.charCodeAt(eol - 1) === 13 ? eol - 1 : eol;
      const c0 = text.charCodeAt(start);
      if (c0 === 32 || c0 === 9) {
        this.fail(400, "malformed header: obsolete line folding");
        return false;
      }
      const colon = text.indexOf(":", start);
      if (colon <= start || colon >= end) {
        this.fail(400, `malformed header line ${quote(text.slice(start, end))}: no colon`);
        return false;
      }
      let key = commonName(text, start, colon);
      if (key === undefined) {
        key = text.slice(start, colon);
        if (!knownKeys.has(key) && !rememberKey(key)) {
          this.fail(400, `malformed header name ${quote(key)}`);
          return false;
        }
      }
      let vs = colon + 1;
      let ve = end;
      while (vs < ve && (text.charCodeAt(vs) === 32 || text.charCodeAt(vs) === 9)) vs++;
      while (ve > vs && (text.charCodeAt(ve - 1) === 32 || text.charCodeAt(ve - 1) === 9)) ve--;
      const value = text.slice(vs, ve);
      if (key === "Content-Length" || (key.length === 14 && sameName(key, "content-length"))) {
        if (!isDecimal(value)) {
          this.fail(400, `invalid Content-Length ${quote(value)}`);
          return false;
        }
        const n = Number(value);
        if (contentLength >= 0 && contentLength !== n) {
          this.fail(400, "conflicting Content-Length headers");
          return false;
        }
        contentLength = n;
        continue;
      }
      if (key.length === 17 && sameName(key, "transfer-encoding")) {
        if (value.toLowerCase() !== "chunked") {
          this.fail(400, `unsupported Transfer-Encoding ${quote(value)}`);
          return false;
        }
        chunked = true;
        continue;
      }
      if (key === "Host" || (key.length === 4 && sameName(key, "host"))) continue;
      if (Object.hasOwn(header, key)) continue;
      if (key === "__proto__") {
        Object.defineProperty(header, key, { value, enumerable: true, writable: true, configurable: true });
      } else header[key] = value;
    }
    this.header = header;
    this.status = status;
    this.reason = reason;
    this.bodyLen = 0;
    if (this.mode === "response" && status >= 100 && status < 200) {
      this.header = {}; // interim response (100 Continue): no body, nothing to report
      return true;
    }
    if (chunked) {
      this.phase = CHUNK_SIZE;
      return true;
    }
    if (this.mode === "response" && (status === 204 || status === 304)) contentLength = 0;
    if (contentLength < 0) {
      if (this.mode === "response") {
        this.phase = BODY_EOF;
        return true;
      }
      contentLength = 0;
    }
    if (contentLength > this.limits.maxBodyBytes) {
      this.tooLarge("body", contentLength);
      return false;
    }
    if (contentLength === 0) {
      this.finish();
      return true;
    }
    this.remaining = contentLength;
    this.phase = BODY_CL;
    return true;
  }

  private readChunkSize(data: Buffer, off: number): number {
    const nl = data.indexOf(10, off);
    if (nl < 0) {
      if (data.length - off > MAX_CHUNK_LINE) this.fail(400, "malformed chunked body: size line too long");
      else this.stash(data, off);
      return data.length;
    }
    let line = stripCR(data.toString("latin1", off, nl));
    const semi = line.indexOf(";");
    if (semi >= 0) line = line.slice(0, semi);
    line = line.trim();
    if (!/^[0-9a-fA-F]{1,12}$/.test(line)) {
      this.fail(400, `malformed chunked body: chunk size ${quote(line)}`);
      return data.length;
    }
    const size = Number.parseInt(line, 16);
    this.bodyLen += size;
    if (this.bodyLen > this.limits.maxBodyBytes) {
      this.tooLarge("body", this.bodyLen);
      return data.length;
    }
    if (size === 0) {
      this.phase = TRAILER;
      this.trailerBytes = 0;
    } else {
      this.remaining = size;
      this.phase = CHUNK_DATA;
    }
    return nl + 1;
  }

  private readTrailer(data: Buffer, off: number): number {
    const nl = data.indexOf(10, off);
    const size = (nl < 0 ? data.length : nl + 1) - off;
    this.trailerBytes += size;
    if (this.trailerBytes > this.limits.maxHeaderBytes) {
      this.tooLarge("trailer");
      return data.length;
    }
    if (nl < 0) {
      this.trailerBytes -= size; // counted again when the rest arrives
      this.stash(data, off);
      return data.length;
    }
    // Trailer fields are ignored (Go keeps them out of the header map too); an empty line ends them.
    if (nl === off || (nl === off + 1 && data[off] === 13)) this.finish();
    return nl + 1;
  }

  private finish(): void {
    const parts = this.parts;
    let body: Uint8Array = EMPTY;
    if (parts.length === 1) body = wholeBody(parts[0] as Buffer);
    else if (parts.length > 1) body = wholeBody(Buffer.concat(parts));
    this.parts = [];
    this.phase = HEAD;
    const header = this.header;
    this.header = {};
    this.sink.onMessage(header, body, this.status, this.reason);
  }

  private stash(data: Buffer, off: number): void {
    // Copy: a few bytes must not pin a whole socket read buffer.
    this.buf = Buffer.from(data.subarray(off));
  }

  private tooLarge(what: string, size?: number): void {
    const limit = what === "body" ? this.limits.maxBodyBytes : this.limits.maxHeaderBytes;
    const got = size === undefined ? "" : ` (${size} bytes)`;
    this.fail(413, `${what} too large${got}: limit ${limit} bytes`);
  }

  private fail(code: number, detail: string): void {
    this.stop();
    this.sink.onError(new MicroError(ID, detail, code));
  }
}

/** Header names already seen valid: the same few recur on every message. */
const knownKeys = new Set<string>();

/**
 * Header names that Go Micro's and micro-ts's writers put on every message, by length. A line
 * whose name is one of them is matched in place and gets the literal, so the common lines cost
 * no slice and no hashing of the name.
 */
const COMMON_NAMES: (string[] | undefined)[] = [];
for (const name of [
  "Host",
  "Accept",
  "Timeout",
  "Micro-Id",
  "Micro-ID",
  "Content-Type",
  "Micro-Error",
  "Micro-Topic",
  "Micro-Method",
  "Micro-Stream",
  "Micro-Service",
  "Content-Length",
  "Micro-Endpoint",
  "Micro-Multiplex",
  "Accept-Encoding",
  "User-Agent",
]) {
  const names = COMMON_NAMES[name.length] ?? [];
  names.push(name);
  COMMON_NAMES[name.length] = names;
}

/** The literal of a common header name spelled exactly as `text` has it from `start` to `end`. */
function commonName(text: string, start: number, end: number): string | undefined {
  const names = COMMON_NAMES[end - start];
  if (names === undefined) return undefined;
  for (let i = 0; i < names.length; i++) {
    const name = names[i] as string;
    if (text.startsWith(name, start)) return name;
  }
  return undefined;
}

/** Validates a header name, remembering valid ones (up to 1024). */
function rememberKey(key: string): boolean {
  if (!isToken(key)) return false;
  if (knownKeys.size >= 1024) knownKeys.clear();
  knownKeys.add(key);
  return true;
}

/** True when `name` equals the lower-case `lower` ignoring ASCII case (no allocation). */
function sameName(name: string, lower: string): boolean {
  if (name.length !== lower.length) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if ((c >= 65 && c <= 90 ? c + 32 : c) !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/** 1 to 15 ASCII digits (a Content-Length that fits a double exactly). */
function isDecimal(v: string): boolean {
  if (v.length === 0 || v.length > 15) return false;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

function stripCR(line: string): string {
  return line.charCodeAt(line.length - 1) === 13 ? line.slice(0, -1) : line;
}

function quote(s: string): string {
  return JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}…` : s);
}

function wholeBody(b: Buffer): Uint8Array {
  return bodyBytes(b, 0, b.length);
}
