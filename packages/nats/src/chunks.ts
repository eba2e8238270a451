/**
 * NATS header carrying `<index>/<count>` (1-based) on each piece of a transport message that did not
 * fit the server's `max_payload`. Pieces of one message are published back to back, so they arrive
 * consecutively and in order. Only micro-ts peers reassemble them; Go's NATS transport cannot carry
 * such messages at all.
 */
export const CHUNK_HEADER = "Micro-Transport-Chunk";

/** Room left in each piece for the NATS headers, in bytes. */
const HEADROOM = 1024;

/** Splits `data` into pieces that fit `maxPayload` with headers; one piece when it already fits. */
export function splitPayload(data: Uint8Array, maxPayload: number): Uint8Array[] {
  const size = Math.max(1024, maxPayload - HEADROOM);
  if (data.byteLength <= size) return [data];
  const out: Uint8Array[] = [];
  for (let off = 0; off < data.byteLength; off += size) out.push(data.subarray(off, off + size));
  return out;
}

/** Result of feeding one piece to a {@link Reassembler}. */
export type ChunkResult =
  | { kind: "complete"; data: Uint8Array }
  | { kind: "partial" }
  | { kind: "error"; error: string };

/** Collects the pieces of one message from one peer. Bounded: at most `maxBytes` are buffered. */
export class Reassembler {
  private parts: Uint8Array[] = [];
  private expected = 0;
  private bytes = 0;

  constructor(private readonly maxBytes = 64 * 1024 * 1024) {}

  add(header: string, data: Uint8Array): ChunkResult {
    const m = /^(\d+)\/(\d+)$/.exec(header);
    const index = Number(m?.[1]);
    const count = Number(m?.[2]);
    if (!m || index < 1 || count < 1 || index > count) return this.fail(`bad chunk header ${header}`);
    if (index === 1) {
      this.parts = [];
      this.bytes = 0;
      this.expected = count;
    } else if (count !== this.expected || index !== this.parts.length + 1) {
      return this.fail(`chunk ${header} out of order`);
    }
    this.bytes += data.byteLength;
    if (this.bytes > this.maxBytes) return this.fail(`message larger than ${this.maxBytes} bytes`);
    this.parts.push(data);
    if (index < count) return { kind: "partial" };
    const all = Buffer.concat(this.parts, this.bytes);
    this.parts = [];
    this.bytes = 0;
    this.expected = 0;
    return { kind: "complete", data: new Uint8Array(all.buffer, all.byteOffset, all.byteLength) };
  }

  private fail(error: string): ChunkResult {
    this.parts = [];
    this.bytes = 0;
    this.expected = 0;
    return { kind: "error", error };
  }
}
