import { MicroError } from "@microts/core";
import { CODEC_ID } from "./schema.js";

/** Bytes of the gRPC length prefix: compressed flag (u8) and message length (u32 big-endian). */
export const GRPC_PREFIX_BYTES = 5;

/** gRPC's default maximum message size (4 MiB), which Go Micro's gRPC plugins keep. */
export const DEFAULT_MAX_GRPC_MESSAGE_BYTES = 4 * 1024 * 1024;

/** Prefixes `body` with the uncompressed gRPC frame header: `00` + length u32 BE. */
export function encodeGrpcFrame(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(GRPC_PREFIX_BYTES + body.byteLength);
  new DataView(out.buffer).setUint32(1, body.byteLength, false);
  out.set(body, GRPC_PREFIX_BYTES);
  return out;
}

/**
 * The body of exactly one gRPC frame. Throws MicroError 400 when the data is shorter than the
 * prefix, the compressed flag is set (no compression is negotiated), the flag is not 0/1, the
 * declared length differs from the bytes present, or it exceeds `maxMessageBytes`.
 */
export function decodeGrpcFrame(
  data: Uint8Array,
  maxMessageBytes: number = DEFAULT_MAX_GRPC_MESSAGE_BYTES,
): Uint8Array {
  if (data.byteLength < GRPC_PREFIX_BYTES) {
    throw MicroError.badRequest(
      CODEC_ID,
      `grpc: frame of ${data.byteLength} bytes is shorter than the 5-byte prefix`,
    );
  }
  const flag = data[0];
  if (flag === 1) {
    throw MicroError.badRequest(CODEC_ID, "grpc: compressed messages are not supported (flag 1)");
  }
  if (flag !== 0) throw MicroError.badRequest(CODEC_ID, `grpc: invalid compressed flag ${flag}`);
  const length = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(1, false);
  if (length > maxMessageBytes) {
    throw MicroError.badRequest(
      CODEC_ID,
      `grpc: message of ${length} bytes exceeds the maximum of ${maxMessageBytes}`,
    );
  }
  const present = data.byteLength - GRPC_PREFIX_BYTES;
  if (length !== present) {
    throw MicroError.badRequest(CODEC_ID, `grpc: frame declares ${length} bytes but carries ${present}`);
  }
  return data.subarray(GRPC_PREFIX_BYTES);
}
