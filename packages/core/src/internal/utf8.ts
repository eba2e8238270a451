import { Buffer } from "node:buffer";

/**
 * `data` read as UTF-8 (invalid sequences become U+FFFD). A Buffer, which is what sockets and
 * NATS hand over, is read in place; any other Uint8Array is viewed as one first.
 */
export function utf8Text(data: Uint8Array): string {
  return data instanceof Buffer
    ? data.toString("utf8")
    : Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("utf8");
}
