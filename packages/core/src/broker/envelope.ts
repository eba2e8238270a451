import { MicroError } from "../errors/micro-error.js";
import { goJson } from "../internal/go-json.js";

/** Headers and body: what Go Micro's `broker.Message` and `transport.Message` hold. */
export interface EnvelopeMessage {
  header: Record<string, string>;
  body: Uint8Array;
}

const ID = "go.micro.broker";
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: false });

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
  const keys = Object.keys(message.header).sort(compareUtf8);
  const header = keys.map((k) => `${goJson(k)}:${goJson(message.header[k] ?? "")}`).join(",");
  const b = message.body;
  const body = Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("base64");
  return encoder.encode(`{"Header":{${header}},"Body":"${body}"}`);
}

/**
 * Reads a message envelope as Go's `encoding/json` would:
 * - field names match case-insensitively;
 * - `Header` may be `null` or missing (Go's nil map), and its values must be strings;
 * - `Body` may be `null` or missing (nil slice), or standard base64.
 * Throws MicroError 400 for anything else.
 */
export function decodeMessageEnvelope(data: Uint8Array | string): EnvelopeMessage {
  let v: unknown;
  try {
    v = JSON.parse(typeof data === "string" ? data : decoder.decode(data));
  } catch (err) {
    throw MicroError.badRequest(ID, `malformed envelope: ${(err as Error).message}`, { cause: err });
  }
  if (v === null || typeof v !== "object" || Array.isArray(v)) {
    throw MicroError.badRequest(ID, "malformed envelope: not a JSON object");
  }
  let rawHeader: unknown;
  let rawBody: unknown;
  for (const [k, x] of Object.entries(v)) {
    const l = k.toLowerCase();
    if (l === "header") rawHeader = x;
    else if (l === "body") rawBody = x;
  }
  const header: Record<string, string> = {};
  if (rawHeader !== undefined && rawHeader !== null) {
    if (typeof rawHeader !== "object" || Array.isArray(rawHeader)) {
      throw MicroError.badRequest(ID, "malformed envelope: Header is not an object");
    }
    for (const [k, x] of Object.entries(rawHeader)) {
      if (typeof x !== "string")
        throw MicroError.badRequest(ID, `malformed envelope: header ${k} is not a string`);
      setOwn(header, k, x);
    }
  }
  let body = new Uint8Array(0);
  if (rawBody !== undefined && rawBody !== null) {
    if (typeof rawBody !== "string" || !BASE64.test(rawBody) || rawBody.length % 4 !== 0) {
      throw MicroError.badRequest(ID, "malformed envelope: Body is not standard base64");
    }
    body = new Uint8Array(Buffer.from(rawBody, "base64"));
  }
  return { header, body };
}

/** Orders strings by their UTF-8 bytes, as Go's `sort.Strings` does (JS compares UTF-16 units). */
function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

/** Sets a key even when it is `__proto__` (a header name is attacker-controlled). */
function setOwn(o: Record<string, string>, k: string, v: string): void {
  if (k === "__proto__")
    Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else o[k] = v;
}
