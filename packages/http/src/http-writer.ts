import type { Message } from "@microts/core";
import { canonicalKey } from "./header-key.js";

/** Headers the writer produces itself; a message's own values for them are not written. */
const FRAMING = new Set(["Content-Length", "Host", "Transfer-Encoding", "Trailer"]);

/**
 * The head of a `POST <path>` request carrying `message`, as Go's `Request.Write` lays it out:
 * request line, `Host`, `Content-Length`, then the message headers in canonical MIME form. `path`
 * (default `/`) must already be URL-encoded.
 */
export function requestHead(host: string, message: Message, path = "/"): string {
  return `POST ${path} HTTP/1.1\r\nHost: ${host}\r\nContent-Length: ${message.body.length}\r\n${headerLines(message.header)}\r\n`;
}

/** The head of an `HTTP/1.1 200 OK` response carrying `message`. */
export function responseHead(message: Message): string {
  return `HTTP/1.1 200 OK\r\nContent-Length: ${message.body.length}\r\n${headerLines(message.header)}\r\n`;
}

/** A complete error response (the server's answer to input it cannot parse); `Connection: close`. */
export function errorResponse(code: number, status: string, detail: string): string {
  const body = `${code} ${status}: ${detail}`.replace(/[\r\n]/g, " ");
  return `HTTP/1.1 ${code} ${status}\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

/**
 * `Key: value\r\n` lines, as Go's `Header.Set` + `Header.Write` produce them: keys canonicalised
 * (the last of several keys that canonicalise alike wins), invalid names dropped, CR and LF in
 * values replaced by spaces. Values are otherwise written as is (UTF-8 on the wire).
 */
export function headerLines(header: Record<string, string>): string {
  const keys = Object.keys(header);
  let out = "";
  let dedupe: Map<string, string> | undefined;
  for (const k of keys) {
    const v = header[k];
    if (typeof v !== "string") continue;
    const ck = canonicalKey(k);
    if (ck === "" || FRAMING.has(ck)) continue;
    if (ck !== k && dedupe === undefined) {
      // A non-canonical key may collide with another one: switch to the slow, de-duplicating path.
      dedupe = new Map();
      break;
    }
    out += `${ck}: ${clean(v)}\r\n`;
  }
  if (dedupe === undefined) return out;
  for (const k of keys) {
    const v = header[k];
    if (typeof v !== "string") continue;
    const ck = canonicalKey(k);
    if (ck === "" || FRAMING.has(ck)) continue;
    dedupe.delete(ck); // keep insertion order of the winning (last) value
    dedupe.set(ck, v);
  }
  out = "";
  for (const [k, v] of dedupe) out += `${k}: ${clean(v)}\r\n`;
  return out;
}

function clean(v: string): string {
  return v.indexOf("\n") < 0 && v.indexOf("\r") < 0 ? v : v.replace(/[\r\n]/g, " ");
}
