import type { Registry } from "@bufbuild/protobuf";
import type { Codec } from "@microts/core";
import { DEFAULT_MAX_GRPC_MESSAGE_BYTES, decodeGrpcFrame, encodeGrpcFrame } from "./grpc-frame.js";
import { decodeProto, encodeProto } from "./protobuf-codec.js";
import { createProtoJsonCodec } from "./protojson-codec.js";

/** Options for {@link createGrpcCodec}. */
export interface GrpcCodecOptions {
  /** Body encoding inside the frame: binary protobuf or protojson. Default `proto`. */
  subtype?: "proto" | "json" | undefined;
  /**
   * Content type reported and matched. Default `application/grpc+proto` or
   * `application/grpc+json` after `subtype`. Use `application/grpc` for the bare form (proto).
   */
  contentType?: string | undefined;
  /** Largest message accepted, in bytes; larger frames are MicroError 400. Default 4 MiB (gRPC's). */
  maxMessageBytes?: number | undefined;
  /** For `json`: reject unknown fields unless true. Default false (as protojson). */
  ignoreUnknownFields?: boolean | undefined;
  /** For `json`: proto field names instead of lowerCamelCase. Default false (Go Micro's gRPC client). */
  useProtoFieldName?: boolean | undefined;
  /**
   * Message types for `Any` and extensions (json), and for encoding a message given without a
   * schema, by its `$typeName` (both). Default none.
   */
  registry?: Registry | undefined;
}

/**
 * gRPC message framing (`application/grpc`, `+proto`, `+json`), Go Micro's `codec/grpc`: each body
 * is one length-prefixed message, `flag u8 = 0, length u32 BE`, then the protobuf bytes or the
 * protojson text (no trailing newline). Decoding rejects compressed (flag 1) or malformed frames
 * with MicroError 400. An empty body (no frame at all) decodes as an empty message, like the
 * other codecs' zero value. `type` is the message schema, as for {@link createProtobufCodec}.
 */
export function createGrpcCodec(options: GrpcCodecOptions = {}): Codec {
  const subtype = options.subtype ?? "proto";
  const max = options.maxMessageBytes ?? DEFAULT_MAX_GRPC_MESSAGE_BYTES;
  const contentType = options.contentType ?? `application/grpc+${subtype}`;
  if (subtype === "json") {
    const json = createProtoJsonCodec({
      trailingNewline: false,
      contentType,
      ignoreUnknownFields: options.ignoreUnknownFields,
      useProtoFieldName: options.useProtoFieldName,
      registry: options.registry,
    });
    return {
      name: "grpc+json",
      contentType,
      marshal: (value, type) => encodeGrpcFrame(json.marshal(value, type)),
      unmarshal: (data, type) =>
        json.unmarshal(data.byteLength === 0 ? data : decodeGrpcFrame(data, max), type),
    };
  }
  return {
    name: "grpc+proto",
    contentType,
    marshal: (value, type) => encodeGrpcFrame(encodeProto("grpc", value, type, options.registry)),
    unmarshal: (data, type) =>
      decodeProto("grpc", data.byteLength === 0 ? data : decodeGrpcFrame(data, max), type),
  };
}

/**
 * The three gRPC content types Go Micro's codec table lists: `application/grpc` and
 * `application/grpc+proto` (protobuf) and `application/grpc+json` (protojson).
 */
export function createGrpcCodecs(options: Omit<GrpcCodecOptions, "subtype" | "contentType"> = {}): Codec[] {
  return [
    createGrpcCodec({ ...options, subtype: "proto", contentType: "application/grpc" }),
    createGrpcCodec({ ...options, subtype: "proto" }),
    createGrpcCodec({ ...options, subtype: "json" }),
  ];
}
