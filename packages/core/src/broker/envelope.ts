import { MicroError } from "../errors/micro-error.js";
import { goJson } from "../internal/go-json.js";
import {
  asBuffer,
  plainChar,
  plainObjectLength,
  readPlainObject,
  setOwn,
  writePlainObject,
} from "../internal/plain-json.js";
import { utf8Text } from "../internal/utf8.js";

/** Headers and body: what Go Micro's `broker.Message` and `transport.Message` hold. */
export interface EnvelopeMessage {
  header: Record<string, string>;
  body: Uint8Array;
}

const ID = "go.micro.broker";
const EMPTY = new Uint8Array(0);

/**
 * Go Micro's JSON form of a message, `json.Marshal(broker.Message)`:
 * `{"Header":{...},"Body":"<base64>"}`. Its HTTP and NATS brokers and its NATS transport put this
 * on the wire. Written exactly as Go writes it:
 * - header keys sorted by their UTF-8 bytes, as Go sorts map keys (the text is assembled by hand,
 *   because JavaScript objects put integer-like keys first);
 * - strings with Go's HTML-safe escaping;
 * - the body in standard padded base64.
 */
export function encodeMessageEnvelope(message: EnvelopeMessage): Uint8Array {
  const header = message.header;
  const keys = Object.keys(header);
  if (keys.length > 1) keys.sort(compareUtf8);
  const b = message.body;
  const n = b.length;
  // Head, base64 and tail written into one buffer. The head is tried as plain text first: its
  // length is then the strings' lengths, and writing it checks each character.
  let headLen = plainHeadLength(header, keys);
  let out = Buffer.allocUnsafe(headLen + base64Length(n) + 2);
  if (!writePlainHead(out, header, keys)) {
    // Escapes or non-ASCII text: the head is made as a string.
    const text = envelopeHead(header, keys);
    headLen = Buffer.byteLength(text, "utf8");
    out = Buffer.allocUnsafe(headLen + base64Length(n) + 2);
    out.write(text, 0, headLen, "utf8");
  }
  if (n <= SHORT_BASE64) {
    writeBase64(b, out, headLen);
  } else {
    const body = Buffer.from(b.buffer, b.byteOffset, n).toString("base64");
    out.write(body, headLen, body.length, "latin1");
  }
  const end = out.length - 2;
  out[end] = 0x22; // "
  out[end + 1] = 0x7d; // }
  return out;
}

const HEAD_OPEN = '{"Header":';
const HEAD_CLOSE = ',"Body":"';
const HEAD_OPEN_BYTES = Buffer.from(HEAD_OPEN, "latin1");
const HEAD_CLOSE_BYTES = Buffer.from(HEAD_CLOSE, "latin1");

/** The byte length of `{"Header":{...},"Body":"` when every key and value is plain ({@link isPlain}). */
function plainHeadLength(header: Record<string, string>, keys: string[]): number {
  return HEAD_OPEN.length + plainObjectLength(header, keys) + HEAD_CLOSE.length;
}

/**
 * Writes `{"Header":{...},"Body":"` at the start of `out`, each key and value as it is; false as
 * soon as one is not plain ({@link isPlain}), and then what was written is to be discarded.
 */
function writePlainHead(out: Buffer, header: Record<string, string>, keys: string[]): boolean {
  const o = writePlainObject(out, copyBytes(out, 0, HEAD_OPEN_BYTES), header, keys);
  if (o < 0) return false;
  copyBytes(out, o, HEAD_CLOSE_BYTES);
  return true;
}

/** Copies the few bytes of `part` into `out` at `at`; returns the offset after them. */
function copyBytes(out: Buffer, at: number, part: Uint8Array): number {
  for (let j = 0; j < part.length; j++) out[at + j] = part[j] as number;
  return at + part.length;
}

/** `{"Header":{...},"Body":"` for `header` and its sorted `keys`, strings escaped as Go does. */
function envelopeHead(header: Record<string, string>, keys: string[]): string {
  let text = `${HEAD_OPEN}{`;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as string;
    text += `${i === 0 ? "" : ","}${jsonString(k)}:${jsonString(header[k] ?? "")}`;
  }
  return `${text}}${HEAD_CLOSE}`;
}

/**
 * Reads a message envelope as Go's `encoding/json` would:
 * - field names match case-insensitively;
 * - `Header` may be `null` or missing (Go's nil map), and its values must be strings;
 * - `Body` may be `null` or missing (nil slice), or standard base64.
 * Throws MicroError 400 for anything else.
 */
export function decodeMessageEnvelope(data: Uint8Array | string): EnvelopeMessage {
  const canonical = decodeCanonical(typeof data === "string" ? Buffer.from(data, "utf8") : data);
  if (canonical !== undefined) return canonical;
  const text = typeof data === "string" ? data : utf8Text(data);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw MicroError.badRequest(ID, `malformed envelope: ${(err as Error).message}`, { cause: err });
  }
  if (v === null || typeof v !== "object" || Array.isArray(v)) {
    throw MicroError.badRequest(ID, "malformed envelope: not a JSON object");
  }
  let rawHeader: unknown;
  let rawBody: unknown;
  const fields = v as Record<string, unknown>;
  for (const k in fields) {
    if (k === "Header") rawHeader = fields[k];
    else if (k === "Body") rawBody = fields[k];
    else {
      const l = k.toLowerCase();
      if (l === "header") rawHeader = fields[k];
      else if (l === "body") rawBody = fields[k];
    }
  }
  const header: Record<string, string> = {};
  if (rawHeader !== undefined && rawHeader !== null) {
    if (typeof rawHeader !== "object" || Array.isArray(rawHeader)) {
      throw MicroError.badRequest(ID, "malformed envelope: Header is not an object");
    }
    const raw = rawHeader as Record<string, unknown>;
    for (const k in raw) {
      const x = raw[k];
      if (typeof x !== "string")
        throw MicroError.badRequest(ID, `malformed envelope: header ${k} is not a string`);
      setOwn(header, k, x);
    }
  }
  let body: Uint8Array = EMPTY;
  if (rawBody !== undefined && rawBody !== null) {
    const decoded = typeof rawBody === "string" ? decodeStdBase64(rawBody) : undefined;
    if (decoded === undefined) {
      throw MicroError.badRequest(ID, "malformed envelope: Body is not standard base64");
    }
    body = decoded;
  }
  return { header, body };
}

/** Whether `s` is printable ASCII without `"`, `\`, `<`, `>` or `&` (Go writes it as it is). */
function isPlain(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (!plainChar(s.charCodeAt(i))) return false;
  return true;
}

/** `goJson(s)` for a string, without the general path for plain text ({@link isPlain}). */
function jsonString(s: string): string {
  return isPlain(s) ? `"${s}"` : goJson(s);
}

/**
 * The envelope exactly as Go's `json.Marshal` and {@link encodeMessageEnvelope} write it
 * (`{"Header":{"k":"v",...},"Body":"<base64>"}`, no spaces, header strings of printable ASCII
 * without escapes), read from its bytes without JSON.parse or a UTF-8 decode; undefined for
 * anything else, which then takes the general path (and its errors).
 */
function decodeCanonical(d: Uint8Array): EnvelopeMessage | undefined {
  const n = d.length;
  // The shortest is {"Header":{},"Body":""}.
  if (n < 23 || !hasAt(d, 0, HEAD_OPEN_BYTES)) return undefined;
  const buf = asBuffer(d);
  const header: Record<string, string> = {};
  let i = readPlainObject(header, buf, HEAD_OPEN_BYTES.length);
  if (i < 0 || !hasAt(d, i, HEAD_CLOSE_BYTES)) return undefined;
  i += HEAD_CLOSE_BYTES.length;
  const end = n - 2;
  if (end < i || d[end] !== 0x22 || d[end + 1] !== 0x7d) return undefined;
  const body =
    end - i <= base64Length(SHORT_BASE64)
      ? readBase64(d, i, end)
      : decodeStdBase64(buf.toString("latin1", i, end));
  return body === undefined ? undefined : { header, body };
}

/** Whether `d` holds the bytes of `part` at `at`. */
function hasAt(d: Uint8Array, at: number, part: Uint8Array): boolean {
  if (at + part.length > d.length) return false;
  for (let j = 0; j < part.length; j++) if (d[at + j] !== part[j]) return false;
  return true;
}

/**
 * Bodies up to this many bytes are base64-coded by a loop in JavaScript, straight into and out of
 * the envelope's bytes. Below it the loop (about 2 ns a byte) beats a call into Node's coder and
 * the string it makes (about 350 ns whatever the size).
 */
const SHORT_BASE64 = 192;
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const TO_BASE64 = Uint8Array.from(ALPHABET, (c) => c.charCodeAt(0));
/** A byte's value as a digit of the standard alphabet, or -1. */
const FROM_BASE64 = new Int32Array(256).fill(-1);
for (let j = 0; j < ALPHABET.length; j++) FROM_BASE64[ALPHABET.charCodeAt(j)] = j;

/** Length of the padded base64 text of `n` bytes. */
function base64Length(n: number): number {
  return Math.ceil(n / 3) * 4;
}

/** Writes `src` as standard padded base64 into `out` at `at`. */
function writeBase64(src: Uint8Array, out: Uint8Array, at: number): void {
  const n = src.length;
  const whole = n - (n % 3);
  let o = at;
  let i = 0;
  for (; i < whole; i += 3) {
    const v = ((src[i] as number) << 16) | ((src[i + 1] as number) << 8) | (src[i + 2] as number);
    out[o++] = TO_BASE64[v >>> 18] as number;
    out[o++] = TO_BASE64[(v >>> 12) & 63] as number;
    out[o++] = TO_BASE64[(v >>> 6) & 63] as number;
    out[o++] = TO_BASE64[v & 63] as number;
  }
  if (i === n) return;
  const two = i + 1 < n;
  const v = ((src[i] as number) << 16) | (two ? (src[i + 1] as number) << 8 : 0);
  out[o++] = TO_BASE64[v >>> 18] as number;
  out[o++] = TO_BASE64[(v >>> 12) & 63] as number;
  out[o++] = two ? (TO_BASE64[(v >>> 6) & 63] as number) : 0x3d;
  out[o] = 0x3d;
}

/**
 * Standard padded base64 in `d[start..end)` decoded by a loop, or undefined when it is not that: a
 * letter outside the alphabet, a length not a multiple of 4, or padding anywhere but at the end.
 */
function readBase64(d: Uint8Array, start: number, end: number): Uint8Array | undefined {
  const len = end - start;
  if (len % 4 !== 0) return undefined;
  if (len === 0) return EMPTY;
  const pad = d[end - 1] === 0x3d ? (d[end - 2] === 0x3d ? 2 : 1) : 0;
  const out = new Uint8Array((len / 4) * 3 - pad);
  const last = end - 4;
  let o = 0;
  let i = start;
  for (; i < last; i += 4) {
    const v =
      ((FROM_BASE64[d[i] as number] as number) << 18) |
      ((FROM_BASE64[d[i + 1] as number] as number) << 12) |
      ((FROM_BASE64[d[i + 2] as number] as number) << 6) |
      (FROM_BASE64[d[i + 3] as number] as number);
    if (v < 0) return undefined;
    out[o++] = v >>> 16;
    out[o++] = v >>> 8;
    out[o++] = v;
  }
  const a = FROM_BASE64[d[i] as number] as number;
  const b = FROM_BASE64[d[i + 1] as number] as number;
  const c = pad === 2 ? 0 : (FROM_BASE64[d[i + 2] as number] as number);
  const e = pad === 0 ? (FROM_BASE64[d[i + 3] as number] as number) : 0;
  if ((a | b | c | e) < 0) return undefined;
  // Bits past the last byte are dropped, as Go's (non-strict) StdEncoding does.
  const v = (a << 18) | (b << 12) | (c << 6) | e;
  out[o++] = v >>> 16;
  if (pad < 2) out[o++] = v >>> 8;
  if (pad === 0) out[o] = v;
  return out;
}

/**
 * Standard padded base64 (Go's `base64.StdEncoding`), or undefined when `text` is not that.
 * Node's decoder skips characters outside the alphabet, so a decoded length short of what the
 * text's length promises reveals them; the URL-safe letters it also accepts are refused first.
 */
function decodeStdBase64(text: string): Uint8Array | undefined {
  const n = text.length;
  if (n % 4 !== 0) return undefined;
  if (n === 0) return EMPTY;
  if (text.indexOf("-") >= 0 || text.indexOf("_") >= 0) return undefined;
  const pad = text.charCodeAt(n - 1) === 61 ? (text.charCodeAt(n - 2) === 61 ? 2 : 1) : 0;
  if (pad === 2 && text.charCodeAt(n - 3) === 61) return undefined;
  const buf = Buffer.from(text, "base64");
  if (buf.length !== (n / 4) * 3 - pad) return undefined;
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
}

/** Orders strings by their UTF-8 bytes, as Go's `sort.Strings` does (JS compares UTF-16 units). */
function compareUtf8(a: string, b: string): number {
  // UTF-16 order equals UTF-8 byte order until a surrogate (U+D800–U+DFFF) takes part.
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 || y >= 0xd800) return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
    return x - y;
  }
  return a.length - b.length;
}
