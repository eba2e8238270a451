import { MicroError } from "@microts/core";
import { goJson } from "@microts/core/internal";

const ID = "go.micro.broker";
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Go's `json.Marshal(broker.Message)`: `{"Header":{...keys sorted...},"Body":"<base64>"}`, with
 * Go's HTML-safe escaping. The same envelope the HTTP and NATS brokers of Go Micro put on the wire.
 */
export function encodeEnvelope(header: Record<string, string>, body: Uint8Array): string {
  const sorted: Record<string, string> = {};
  for (const k of Object.keys(header).sort()) {
    const v = header[k];
    if (typeof v === "string") setOwn(sorted, k, v);
  }
  return goJson({
    Header: sorted,
    Body: Buffer.from(body.buffer, body.byteOffset, body.length).toString("base64"),
  });
}

/**
 * Parses an envelope as Go's `encoding/json` would: field names match case-insensitively,
 * `Header` values must be strings, `Body` is standard base64 (or null). Throws MicroError 400.
 */
export function decodeEnvelope(text: string): { header: Record<string, string>; body: Uint8Array } {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw MicroError.badRequest(ID, `malformed envelope: ${(err as Error).message}`);
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
        throw MicroError.badRequest(ID, `malformed envelope: Header ${k} is not a string`);
      setOwn(header, k, x);
    }
  }
  let body = new Uint8Array(0);
  if (rawBody !== undefined && rawBody !== null) {
    if (typeof rawBody !== "string" || rawBody.length % 4 !== 0 || !BASE64.test(rawBody)) {
      throw MicroError.badRequest(ID, "malformed envelope: Body is not base64");
    }
    body = new Uint8Array(Buffer.from(rawBody, "base64"));
  }
  return { header, body };
}

function setOwn(o: Record<string, string>, k: string, v: string): void {
  if (k === "__proto__")
    Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else o[k] = v;
}
