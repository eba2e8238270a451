import type { BrokerMessage } from "@microts/core";
import { MicroError } from "@microts/core";
import { goJson } from "@microts/core/internal";

const ID = "go.micro.broker";

/**
 * Go Micro's broker envelope, `json.Marshal(broker.Message)`: `{"Header":{...},"Body":"<base64>"}`
 * with the header keys sorted (Go sorts map keys) and the body in standard base64.
 */
export function encodeEnvelope(message: BrokerMessage): string {
  const header: Record<string, string> = {};
  for (const k of Object.keys(message.header).sort()) header[k] = message.header[k] ?? "";
  return goJson({ Header: header, Body: Buffer.from(message.body).toString("base64") });
}

/**
 * Parses an envelope. `Header: null` and `Body: null` (Go's nil map and nil slice) are accepted.
 * Throws MicroError 400 when the bytes are not an envelope.
 */
export function decodeEnvelope(data: Uint8Array | string): BrokerMessage {
  let v: unknown;
  try {
    v = JSON.parse(typeof data === "string" ? data : Buffer.from(data).toString("utf8"));
  } catch (err) {
    throw MicroError.badRequest(ID, "broker envelope: not JSON", { cause: err });
  }
  if (v === null || typeof v !== "object" || Array.isArray(v)) {
    throw MicroError.badRequest(ID, "broker envelope: not a JSON object");
  }
  const o = v as Record<string, unknown>;
  const header: Record<string, string> = {};
  if (o.Header !== undefined && o.Header !== null) {
    if (typeof o.Header !== "object" || Array.isArray(o.Header)) {
      throw MicroError.badRequest(ID, "broker envelope: Header is not an object");
    }
    for (const [k, val] of Object.entries(o.Header as Record<string, unknown>)) {
      if (typeof val !== "string")
        throw MicroError.badRequest(ID, `broker envelope: header ${k} is not a string`);
      header[k] = val;
    }
  }
  let body = new Uint8Array(0);
  if (o.Body !== undefined && o.Body !== null) {
    if (typeof o.Body !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(o.Body) || o.Body.length % 4 !== 0) {
      throw MicroError.badRequest(ID, "broker envelope: Body is not standard base64");
    }
    body = new Uint8Array(Buffer.from(o.Body, "base64"));
  }
  return { header, body };
}
