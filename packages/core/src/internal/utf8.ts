import { Buffer, isAscii, isUtf8 } from "node:buffer";
import { asBuffer } from "./plain-json.js";

/**
 * `data` read as UTF-8 (invalid sequences become U+FFFD). A Buffer, which is what sockets and
 * NATS hand over, is read in place; any other Uint8Array is viewed as one first.
 */
export function utf8Text(data: Uint8Array): string {
  return asBuffer(data).toString("utf8");
}

/**
 * `data` read as UTF-8, or undefined when it is not valid UTF-8. ASCII, the usual case for JSON,
 * is read as Latin-1: the same text, with half the decoding work (a 64 KiB body: 3.8 µs instead
 * of 7.9 for the check and the decode).
 */
export function strictUtf8Text(data: Uint8Array): string | undefined {
  const buf = asBuffer(data);
  if (isAscii(buf)) return buf.toString("latin1");
  return isUtf8(buf) ? buf.toString("utf8") : undefined;
}

/** Texts up to this many UTF-16 units are encoded into {@link textSlab}; longer ones get a buffer. */
const MAX_SLAB_TEXT = 2 * 1024;
const TEXT_SLAB_BYTES = 16 * 1024;
/** Where short texts are encoded, from `textUsed` on; the buffers handed out are views of it. */
let textSlab = Buffer.allocUnsafeSlow(0);
let textUsed = 0;

/**
 * `text` as UTF-8, followed by the byte `suffix` unless it is -1, in a buffer of exactly that
 * length. A short text is written in one pass into a shared slab, as `Buffer.allocUnsafe` shares
 * its pool, without counting its UTF-8 length first (a 1 KiB JSON body: 1,800 instructions less).
 */
export function utf8Bytes(text: string, suffix: number): Buffer {
  const extra = suffix < 0 ? 0 : 1;
  if (text.length > MAX_SLAB_TEXT) {
    const len = Buffer.byteLength(text, "utf8");
    const out = Buffer.allocUnsafe(len + extra);
    out.write(text, 0, len, "utf8");
    if (extra) out[len] = suffix;
    return out;
  }
  // A UTF-16 unit takes at most 3 bytes of UTF-8 (a surrogate pair, two units, takes 4).
  const most = text.length * 3 + extra;
  if (textSlab.length - textUsed < most) {
    textSlab = Buffer.allocUnsafeSlow(TEXT_SLAB_BYTES);
    textUsed = 0;
  }
  const start = textUsed;
  const len = textSlab.write(text, start, most, "utf8");
  if (extra) textSlab[start + len] = suffix;
  const end = start + len + extra;
  // Keep the next view 8-byte aligned, as Buffer's pool does.
  textUsed = (end + 7) & ~7;
  return textSlab.subarray(start, end);
}
