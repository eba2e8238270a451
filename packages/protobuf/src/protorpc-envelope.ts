import { BinaryReader, BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { MicroError } from "@microts/core";
import { CODEC_ID, messageOf } from "./schema.js";

/**
 * Go Micro's legacy proto-rpc envelope (`codec/protorpc`, content types `application/proto-rpc`
 * and, for peers without `Micro-*` headers, `application/protobuf` and
 * `application/octet-stream`). Each message is two netstrings (`uint32 BE length` + bytes): a
 * header message, then the body's protobuf bytes.
 *
 * ```proto
 * message Request  { string service_method = 1; fixed64 seq = 2; }
 * message Response { string service_method = 1; fixed64 seq = 2; string error = 3; }
 * ```
 */

/** A proto-rpc request. */
export interface ProtoRpcRequest {
  /** `Type.Method`. */
  serviceMethod: string;
  /** Go Micro's message id as a number; the Micro id is `String(seq)`. */
  seq: bigint;
  /** The body's protobuf bytes (empty for an empty message). */
  body: Uint8Array;
}

/** A proto-rpc response. */
export interface ProtoRpcResponse extends ProtoRpcRequest {
  /** The error string, `""` on success. Go Micro puts a MicroError's JSON here. */
  error: string;
}

/** What the encoders take: `seq` may be the Micro id string (Go parses it; non-numbers become 0). */
export interface ProtoRpcRequestInit {
  serviceMethod: string;
  seq: bigint | number | string;
  /** Body bytes. Default empty. */
  body?: Uint8Array | undefined;
}

export interface ProtoRpcResponseInit extends ProtoRpcRequestInit {
  /** Default `""` (success). */
  error?: string | undefined;
}

const MAX_U64 = (1n << 64n) - 1n;
const decoder = new TextDecoder("utf-8", { fatal: true });

/** Header netstring (`Request`) + body netstring. */
export function encodeProtoRpcRequest(request: ProtoRpcRequestInit): Uint8Array {
  const header = writeHeader(request.serviceMethod, toSeq(request.seq), "");
  return concat(netstring(header), netstring(request.body ?? new Uint8Array(0)));
}

/** Header netstring (`Response`, with `error`) + body netstring (empty when there is none). */
export function encodeProtoRpcResponse(response: ProtoRpcResponseInit): Uint8Array {
  const header = writeHeader(response.serviceMethod, toSeq(response.seq), response.error ?? "");
  return concat(netstring(header), netstring(response.body ?? new Uint8Array(0)));
}

/** Reads a request envelope; MicroError 400 when truncated, trailed by extra bytes, or malformed. */
export function decodeProtoRpcRequest(data: Uint8Array): ProtoRpcRequest {
  const { header, body } = split(data);
  const h = readHeader(header);
  return { serviceMethod: h.serviceMethod, seq: h.seq, body };
}

/** Reads a response envelope; MicroError 400 as {@link decodeProtoRpcRequest}. */
export function decodeProtoRpcResponse(data: Uint8Array): ProtoRpcResponse {
  const { header, body } = split(data);
  return { ...readHeader(header), body };
}

/** Go's `id()`: the Micro id parsed as int64 and reinterpreted as uint64; not a number → 0. */
function toSeq(seq: bigint | number | string): bigint {
  let n: bigint;
  if (typeof seq === "bigint") n = seq;
  else if (typeof seq === "number") n = Number.isSafeInteger(seq) ? BigInt(seq) : 0n;
  else n = /^[+-]?\d+$/.test(seq) ? BigInt(seq) : 0n;
  if (n < -(1n << 63n) || n > MAX_U64) return 0n;
  return BigInt.asUintN(64, n);
}

function writeHeader(serviceMethod: string, seq: bigint, error: string): Uint8Array {
  // proto3: zero values are not written.
  const w = new BinaryWriter();
  if (serviceMethod !== "") w.tag(1, WireType.LengthDelimited).string(serviceMethod);
  if (seq !== 0n) w.tag(2, WireType.Bit64).fixed64(seq);
  if (error !== "") w.tag(3, WireType.LengthDelimited).string(error);
  return w.finish();
}

function readHeader(data: Uint8Array): { serviceMethod: string; seq: bigint; error: string } {
  const out = { serviceMethod: "", seq: 0n, error: "" };
  try {
    const r = new BinaryReader(data);
    while (r.pos < r.len) {
      const [field, wireType] = r.tag();
      if ((field === 1 || field === 3) && wireType === WireType.LengthDelimited) {
        const text = decoder.decode(r.bytes());
        if (field === 1) out.serviceMethod = text;
        else out.error = text;
      } else if (field === 2 && wireType === WireType.Bit64) {
        out.seq = BigInt(r.fixed64());
      } else {
        r.skip(wireType, field);
      }
    }
  } catch (err) {
    throw bad(`cannot decode the header message: ${messageOf(err)}`, err);
  }
  return out;
}

function split(data: Uint8Array): { header: Uint8Array; body: Uint8Array } {
  const first = readNetstring(data, 0, "header");
  const second = readNetstring(data, first.next, "body");
  if (second.next !== data.byteLength) {
    throw bad(`${data.byteLength - second.next} unexpected bytes after the body`);
  }
  return { header: first.bytes, body: second.bytes };
}

function readNetstring(data: Uint8Array, at: number, what: string): { bytes: Uint8Array; next: number } {
  if (data.byteLength - at < 4) throw bad(`truncated ${what} length`);
  const size = new DataView(data.buffer, data.byteOffset + at, 4).getUint32(0, false);
  const start = at + 4;
  if (data.byteLength - start < size) {
    throw bad(`${what} declares ${size} bytes but ${data.byteLength - start} remain`);
  }
  return { bytes: data.subarray(start, start + size), next: start + size };
}

function netstring(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + bytes.byteLength);
  new DataView(out.buffer).setUint32(0, bytes.byteLength, false);
  out.set(bytes, 4);
  return out;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a, 0);
  out.set(b, a.byteLength);
  return out;
}

function bad(detail: string, cause?: unknown): MicroError {
  return MicroError.badRequest(CODEC_ID, `proto-rpc: ${detail}`, cause === undefined ? {} : { cause });
}
