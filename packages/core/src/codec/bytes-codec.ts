import { MicroError } from "../errors/micro-error.js";
import type { Codec } from "./codec.js";

const encoder = new TextEncoder();

/**
 * Raw bytes (`application/octet-stream`), Go Micro's `bytes` codec: the body is the value.
 * Marshals `Uint8Array` (Buffer included), `ArrayBuffer` and strings (UTF-8); unmarshals to a
 * `Uint8Array` view of the received bytes.
 */
export function createBytesCodec(): Codec {
  return {
    name: "bytes",
    contentType: "application/octet-stream",
    marshal(value) {
      if (value instanceof Uint8Array) return value;
      if (value instanceof ArrayBuffer) return new Uint8Array(value);
      if (typeof value === "string") return encoder.encode(value);
      if (value === undefined || value === null) return new Uint8Array(0);
      throw MicroError.internalServerError(
        "go.micro.codec",
        `bytes: cannot encode ${typeof value}; pass a Uint8Array or string`,
      );
    },
    unmarshal(data) {
      return data;
    },
  };
}
