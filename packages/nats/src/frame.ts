import type { Message } from "@microts/core";
import { MicroError } from "@microts/core";
import { asBuffer, plainObjectLength, readPlainObject, writePlainObject } from "@microts/core/internal";

/**
 * The binary form of a transport message, used only between two micro-ts ends of the NATS
 * transport once both have shown they read it (see `NatsSocket`). Go peers always get Go's JSON
 * envelope. Layout:
 *
 * ```
 * u8      0x00   magic: a Go envelope is JSON text and never starts with a zero byte
 * u8      0x01   version
 * u32 BE  n      byte length of the header block
 * n bytes        the header, a JSON object of strings (UTF-8)
 * …              the body, raw, to the end of the payload
 * ```
 *
 * Against the JSON envelope it saves the base64 of the body (a third of its size) and the NATS
 * header that marks a micro-ts message. The header stays JSON, so any JSON reader can take it
 * apart; a header of printable ASCII without escapes (the usual one) is written and read on its
 * bytes, without JSON.stringify or JSON.parse (`plainObjectLength` in @microts/core/internal).
 */
export const FRAME_MAGIC = 0x00;
const FRAME_VERSION = 0x01;
const PREFIX = 6;
const ID = "go.micro.transport";

/** True when `data` is a binary frame rather than a Go JSON envelope. */
export function isFrame(data: Uint8Array): boolean {
  return data.byteLength > 0 && data[0] === FRAME_MAGIC;
}

/** Writes `message` as one binary frame (a fresh buffer). */
export function encodeFrame(message: Message): Uint8Array {
  const header = message.header;
  const body = message.body;
  const keys = Object.keys(header);
  const n = plainObjectLength(header, keys);
  const buf = Buffer.allocUnsafe(PREFIX + n + body.byteLength);
  if (writePlainObject(buf, PREFIX, header, keys) < 0) return encodeJsonFrame(message);
  buf[0] = FRAME_MAGIC;
  buf[1] = FRAME_VERSION;
  buf.writeUInt32BE(n, 2);
  buf.set(body, PREFIX + n);
  return buf;
}

/** {@link encodeFrame} for a header that needs escapes or holds non-ASCII text. */
function encodeJsonFrame(message: Message): Uint8Array {
  const header = JSON.stringify(message.header);
  const body = message.body;
  // A UTF-16 code unit takes at most 3 UTF-8 bytes, so this bound always has room.
  const buf = Buffer.allocUnsafe(PREFIX + 3 * header.length + body.byteLength);
  buf[0] = FRAME_MAGIC;
  buf[1] = FRAME_VERSION;
  const n = buf.write(header, PREFIX, "utf8");
  buf.writeUInt32BE(n, 2);
  buf.set(body, PREFIX + n);
  return buf.subarray(0, PREFIX + n + body.byteLength);
}

/**
 * Reads one binary frame. The body is a view into `data`, not a copy. Throws MicroError 400 for a
 * truncated frame, an unknown version, or a header that is not a JSON object of strings.
 */
export function decodeFrame(data: Uint8Array): Message {
  const buf = asBuffer(data);
  if (buf.length < PREFIX || buf[0] !== FRAME_MAGIC) throw malformed("not a micro-ts frame");
  if (buf[1] !== FRAME_VERSION) throw malformed(`unknown frame version ${buf[1]}`);
  const end = PREFIX + buf.readUInt32BE(2);
  if (end > buf.length) throw malformed("frame truncated in its header");
  const plain: Record<string, string> = {};
  const header = readPlainObject(plain, buf, PREFIX, end) === end ? plain : readJsonHeader(buf, end);
  return { header, body: data.subarray(end) };
}

/** The header block `buf[PREFIX..end]` read by JSON.parse, for what {@link readPlainObject} leaves. */
function readJsonHeader(buf: Buffer, end: number): Record<string, string> {
  let header: unknown;
  try {
    header = JSON.parse(buf.toString("utf8", PREFIX, end));
  } catch (err) {
    throw malformed(`header is not JSON: ${(err as Error).message}`);
  }
  if (header === null || typeof header !== "object" || Array.isArray(header)) {
    throw malformed("header is not a JSON object");
  }
  // JSON.parse makes every key an own property, `__proto__` included.
  const h = header as Record<string, unknown>;
  for (const k in h) if (typeof h[k] !== "string") throw malformed(`header ${k} is not a string`);
  return h as Record<string, string>;
}

function malformed(why: string): MicroError {
  return MicroError.badRequest(ID, `malformed frame: ${why}`);
}
