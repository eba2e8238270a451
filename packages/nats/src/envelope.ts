import { goJson } from "@microts/core/internal";

/** Headers and body: what Go's `broker.Message` and `transport.Message` hold. */
export interface Envelope {
  header: Record<string, string>;
  body: Uint8Array;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: false });

/**
 * Encodes `{"Header":{...},"Body":"<base64>"}` exactly as Go's `json.Marshal` writes a
 * `broker.Message` / `transport.Message`: header keys sorted by their bytes (JSON objects built in
 * JS would put integer-like keys first, so the text is assembled by hand), strings with Go's HTML
 * escaping, the body in standard padded base64.
 */
export function encodeEnvelope(e: Envelope): Uint8Array {
  const keys = Object.keys(e.header).sort(compareUtf8);
  const header = keys.map((k) => `${goJson(k)}:${goJson(e.header[k] ?? "")}`).join(",");
  const body = Buffer.from(e.body.buffer, e.body.byteOffset, e.body.byteLength).toString("base64");
  return encoder.encode(`{"Header":{${header}},"Body":"${body}"}`);
}

/**
 * Decodes a Go JSON envelope. `Header` may be `null` or missing (Go's nil map), `Body` may be `null`
 * (nil slice) or a base64 string. Throws a plain Error describing what is wrong otherwise; callers
 * turn it into a MicroError 400 for whoever should hear about it.
 */
export function decodeEnvelope(data: Uint8Array): Envelope {
  let raw: unknown;
  try {
    raw = JSON.parse(decoder.decode(data));
  } catch (err) {
    throw new Error(`not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new Error("not a JSON object");
  }
  const o = raw as Record<string, unknown>;
  const header: Record<string, string> = {};
  const h = o.Header;
  if (h !== undefined && h !== null) {
    if (typeof h !== "object" || Array.isArray(h)) throw new Error("Header is not an object");
    for (const [k, v] of Object.entries(h as Record<string, unknown>)) {
      if (typeof v !== "string") throw new Error(`Header ${k} is not a string`);
      header[k] = v;
    }
  }
  const b = o.Body;
  let body: Uint8Array;
  if (b === undefined || b === null) body = new Uint8Array(0);
  else if (typeof b === "string") {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b) || b.length % 4 !== 0) throw new Error("Body is not base64");
    body = new Uint8Array(Buffer.from(b, "base64"));
  } else throw new Error("Body is not a base64 string");
  return { header, body };
}

/** Orders strings by their UTF-8 bytes, as Go's `sort.Strings` does (JS compares UTF-16 units). */
function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}
