import { fromBinary, type Registry, toBinary } from "@bufbuild/protobuf";
import { type Codec, MicroError } from "@microts/core";
import { CODEC_ID, looksLikeMessage, messageOf, schemaOf, toMessage } from "./schema.js";

/** Options for {@link createProtobufCodec}. */
export interface ProtobufCodecOptions {
  /** Content type reported and matched. Default `application/protobuf` (Go Micro's). */
  contentType?: string | undefined;
  /**
   * Message types for encoding a protobuf-es message given without a schema, looked up by its
   * `$typeName`: what `client.publish` needs, since publishing passes no type. Default none.
   */
  registry?: Registry | undefined;
}

/**
 * Binary protobuf (`application/protobuf`), Go Micro's `codec/proto`: the body is the message's
 * wire bytes with no prefix; an empty message is 0 bytes.
 *
 * `type` is the protobuf-es message schema (`DescMessage`/`GenMessage`), which the server takes
 * from `EndpointSpec.requestType/responseType` and the client from `CallOptions.requestType/
 * responseType` (`protoHandler` and `protoClient` set them).
 *
 * - `marshal(value, schema)`: `value` is a message of `schema` or a plain init object (built with
 *   `create`); a `Uint8Array` is passed through as already-encoded bytes.
 * - `marshal(value)` without a schema: a `Uint8Array` passes through, `undefined`/`null` is the
 *   empty message (0 bytes), a protobuf-es message whose type `registry` knows is encoded;
 *   anything else throws MicroError 500 (no protobuf schema for this endpoint).
 * - `unmarshal(bytes, schema)`: the decoded message; malformed bytes throw MicroError 400.
 *   Without a schema the raw bytes are returned.
 */
export function createProtobufCodec(options: ProtobufCodecOptions = {}): Codec {
  return {
    name: "proto",
    contentType: options.contentType ?? "application/protobuf",
    marshal(value, type) {
      return encodeProto("proto", value, type, options.registry);
    },
    unmarshal(data, type) {
      return decodeProto("proto", data, type);
    },
  };
}

/** Shared by the protobuf and gRPC codecs. */
export function encodeProto(codec: string, value: unknown, type: unknown, registry?: Registry): Uint8Array {
  if (value instanceof Uint8Array) return value;
  let schema = schemaOf(codec, type);
  if (!schema && looksLikeMessage(value)) schema = registry?.getMessage(value.$typeName);
  if (!schema) {
    if (value === undefined || value === null) return new Uint8Array(0);
    throw MicroError.internalServerError(
      CODEC_ID,
      `${codec}: no protobuf schema for this endpoint; give the handler/call a requestType/responseType (protoHandler and protoClient do) or pass a Uint8Array`,
    );
  }
  const message = toMessage(codec, schema, value);
  try {
    return toBinary(schema, message);
  } catch (err) {
    throw MicroError.internalServerError(
      CODEC_ID,
      `${codec}: cannot encode ${schema.typeName}: ${messageOf(err)}`,
      {
        cause: err,
      },
    );
  }
}

/** Shared by the protobuf and gRPC codecs. */
export function decodeProto(codec: string, data: Uint8Array, type: unknown): unknown {
  const schema = schemaOf(codec, type);
  if (!schema) return data;
  try {
    return fromBinary(schema, data);
  } catch (err) {
    throw MicroError.badRequest(CODEC_ID, `${codec}: cannot decode ${schema.typeName}: ${messageOf(err)}`, {
      cause: err,
    });
  }
}
