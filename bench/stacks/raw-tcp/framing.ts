import type { Socket } from "node:net";

/**
 * The raw TCP limit's wire format: a 4-byte big-endian length of the rest, a 1-byte type, a
 * 4-byte request id, then the payload. Types: unary echo, stream request (payload: count and size
 * as two u32), stream item, stream end.
 */
export const FrameType = { Echo: 1, StreamRequest: 2, StreamItem: 3, StreamEnd: 4 } as const;

const HEADER = 9;

/** One encoded frame (a single buffer, so that "one write per message" is one `write` call). */
export function frame(type: number, id: number, payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(HEADER + payload.length);
  out.writeUInt32BE(5 + payload.length, 0);
  out.writeUInt8(type, 4);
  out.writeUInt32BE(id, 5);
  out.set(payload, HEADER);
  return out;
}

/**
 * Splits a byte stream into frames and hands each to `onFrame` (payload is a view, valid during the
 * call). Chunks are only joined once a whole frame is there, so a large frame is copied once.
 */
export function frameReader(
  onFrame: (type: number, id: number, payload: Buffer) => void,
): (chunk: Buffer) => void {
  let chunks: Buffer[] = [];
  let size = 0;
  let need = 4;
  return (chunk) => {
    chunks.push(chunk);
    size += chunk.length;
    if (size < need) return;
    const buf = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
    chunks = [];
    size = 0;
    need = 4;
    let off = 0;
    while (buf.length - off >= 4) {
      const len = buf.readUInt32BE(off);
      if (buf.length - off < 4 + len) {
        need = 4 + len;
        break;
      }
      onFrame(buf.readUInt8(off + 4), buf.readUInt32BE(off + 5), buf.subarray(off + HEADER, off + 4 + len));
      off += 4 + len;
    }
    if (off < buf.length) {
      const rest = buf.subarray(off);
      chunks = [rest];
      size = rest.length;
    }
  };
}

/**
 * Writes frames to a socket: either one `write` per frame, or batched: frames queued during one
 * event-loop tick leave together from `setImmediate`, a single frame as one `write`, several as one
 * corked `writev` (one syscall, no copying).
 */
export function frameWriter(socket: Socket, batched: boolean): (buf: Buffer) => void {
  if (!batched) return (buf) => void socket.write(buf);
  let parts: Buffer[] = [];
  const flush = (): void => {
    const p = parts;
    parts = [];
    if (socket.destroyed) return;
    if (p.length === 1) {
      socket.write(p[0] as Buffer);
      return;
    }
    socket.cork();
    for (const b of p) socket.write(b);
    socket.uncork();
  };
  return (buf) => {
    if (parts.push(buf) === 1) setImmediate(flush);
  };
}
