import { MicroError } from "../errors/micro-error.js";
import { goJson } from "../internal/go-json.js";
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
  const head = envelopeHead(message.header);
  const b = message.body;
  const body = Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("base64");
  // Head, base64 (ASCII) and tail written into one buffer: no joined string to encode again.
  const headLen = Buffer.byteLength(head, "utf8");
  const out = Buffer.allocUnsafe(headLen + body.length + 2);
  out.write(head, 0, headLen, "utf8");
  out.write(body, headLen, body.length, "latin1");
  out[headLen + body.length] = 0x22; // "
  out[headLen + body.length + 1] = 0x7d; // }
  return out;
}

/** `{"Header":{...},"Body":"` for `header`: keys in Go's order, strings escaped as Go does. */
function envelopeHead(header: Record<string, string>): string {
  const keys = Object.keys(header).sort(compareUtf8);
  let text = "";
  for (const k of keys) {
    text += `${text === "" ? "" : ","}${jsonString(k)}:${jsonString(header[k] ?? "")}`;
  }
  return `{"Header":{${text}},"Body":"`;
}

/**
 * Reads a message envelope as Go's `encoding/json` would:
 * - field names match case-insensitively;
 * - `Header` may be `null` or missing (Go's nil map), and its values must be strings;
 * - `Body` may be `null` or missing (nil slice), or standard base64.
 * Throws MicroError 400 for anything else.
 */
export function decodeMessageEnvelope(data: Uint8Array | string): EnvelopeMessage {
  const text = typeof data === "string" ? data : utf8Text(data);
  const canonical = decodeCanonical(text);
  if (canonical !== undefined) return canonical;
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

/**
 * `goJson(s)` for a string, without the general path for the usual header: printable ASCII with
 * nothing to escape is written as is between quotes.
 */
function jsonString(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // control characters, '"', '\\', '<', '>', '&' and anything past ASCII take the general path
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c || c === 0x3c || c === 0x3e || c === 0x26) {
      return goJson(s);
    }
  }
  return `"${s}"`;
}

/**
 * The envelope exactly as Go's `json.Marshal` and {@link encodeMessageEnvelope} write it
 * (`{"Header":{"k":"v",...},"Body":"<base64>"}`, no spaces, strings without escapes), read without
 * JSON.parse; undefined for anything else, which then takes the general path (and its errors).
 */
function decodeCanonical(text: string): EnvelopeMessage | undefined {
  if (!text.startsWith('{"Header":{')) return undefined;
  const header: Record<string, string> = {};
  let i = 11;
  if (text.charCodeAt(i) === 125) {
    i++;
  } else {
    for (;;) {
      const key = plainString(text, i);
      if (key === undefined || text.charCodeAt(i + key.length + 2) !== 58) return undefined;
      i += key.length + 3;
      const value = plainString(text, i);
      if (value === undefined) return undefined;
      i += value.length + 2;
      setOwn(header, key, value);
      const c = text.charCodeAt(i++);
      if (c === 125) break;
      if (c !== 44) return undefined;
    }
  }
  if (!text.startsWith(',"Body":"', i)) return undefined;
  i += 9;
  const end = text.length - 2;
  if (text.charCodeAt(end) !== 34 || text.charCodeAt(end + 1) !== 125 || text.indexOf('"', i) !== end) {
    return undefined;
  }
  const body = decodeStdBase64(text.slice(i, end));
  return body === undefined ? undefined : { header, body };
}

/** The string literal starting at `text[at]` when it has no escapes or control characters. */
function plainString(text: string, at: number): string | undefined {
  if (text.charCodeAt(at) !== 34) return undefined;
  const close = text.indexOf('"', at + 1);
  if (close < 0) return undefined;
  for (let j = at + 1; j < close; j++) {
    const c = text.charCodeAt(j);
    if (c < 0x20 || c === 0x5c) return undefined;
  }
  return text.slice(at + 1, close);
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

/** Sets a key even when it is `__proto__` (a header name is attacker-controlled). */
function setOwn(o: Record<string, string>, k: string, v: string): void {
  if (k === "__proto__")
    Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else o[k] = v;
}
