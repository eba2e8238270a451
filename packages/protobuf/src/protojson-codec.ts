import { create, fromJson, type JsonValue, type Registry, toJson } from "@bufbuild/protobuf";
import { type Codec, createJsonCodec, MicroError } from "@microts/core";
import { goProtoJson } from "./go-protojson.js";
import { CODEC_ID, looksLikeMessage, messageOf, schemaOf, toMessage } from "./schema.js";

/** Options for {@link createProtoJsonCodec}. */
export interface ProtoJsonCodecOptions {
  /** Content type reported and matched. Default `application/json`. */
  contentType?: string | undefined;
  /**
   * Append `\n` after each value, as Go Micro's JSON codec does (`json.Encoder.Encode`).
   * Default true. The gRPC codec's JSON body has none.
   */
  trailingNewline?: boolean | undefined;
  /**
   * Accept JSON fields the schema does not know (and unknown enum names). Default false: they are
   * rejected with MicroError 400, like Go's `protojson.Unmarshal` (`DiscardUnknown: false`).
   */
  ignoreUnknownFields?: boolean | undefined;
  /**
   * Write proto field names (`display_name`) instead of lowerCamelCase JSON names
   * (`displayName`). Default false, as Go Micro's JSON codec and gRPC client. Go Micro's gRPC
   * server writes proto names. Reading always accepts both.
   */
  useProtoFieldName?: boolean | undefined;
  /**
   * Write fields that hold their zero value (Go's `EmitUnpopulated`). Default false: zero values
   * are omitted, as protojson does by default.
   */
  emitDefaultValues?: boolean | undefined;
  /** Write enum numbers instead of names. Default false (names, as protojson). */
  enumAsInteger?: boolean | undefined;
  /**
   * Message types for `google.protobuf.Any` and extensions, and for encoding a protobuf-es
   * message given without a schema (looked up by its `$typeName`). Default none.
   */
  registry?: Registry | undefined;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * JSON (`application/json`) that speaks protojson when it knows the message schema, as Go
 * Micro's `codec/json` does for protobuf messages:
 * - with a schema (the codec `type`): `toJson` with lowerCamelCase names, 64-bit integers as
 *   strings, enums as names, zero values omitted; written as Go writes it (declaration order,
 *   sorted map keys, compact, `<>&` escaped, trailing `\n`). Reading accepts camelCase and
 *   proto names and rejects unknown fields (MicroError 400), unless `ignoreUnknownFields`.
 *   An empty body reads as the empty message.
 * - without a schema: plain JSON, byte for byte what core's `createJsonCodec` writes and reads.
 *   A protobuf-es message without a schema is encoded through `registry` when it knows the type,
 *   otherwise MicroError 500.
 */
export function createProtoJsonCodec(options: ProtoJsonCodecOptions = {}): Codec {
  const newline = options.trailingNewline ?? true;
  const contentType = options.contentType ?? "application/json";
  const plain = createJsonCodec({ trailingNewline: newline, contentType });
  const writeOptions = {
    useProtoFieldName: options.useProtoFieldName ?? false,
    alwaysEmitImplicit: options.emitDefaultValues ?? false,
    enumAsInteger: options.enumAsInteger ?? false,
    registry: options.registry,
  };
  const readOptions = {
    ignoreUnknownFields: options.ignoreUnknownFields ?? false,
    registry: options.registry,
  };
  return {
    name: "protojson",
    contentType,
    marshal(value, type) {
      let schema = schemaOf("protojson", type);
      if (!schema && looksLikeMessage(value)) {
        schema = options.registry?.getMessage(value.$typeName);
        if (!schema) {
          throw MicroError.internalServerError(
            CODEC_ID,
            `protojson: no schema for ${value.$typeName}; pass requestType/responseType or a registry that knows it`,
          );
        }
      }
      if (!schema) return plain.marshal(value);
      const message = toMessage("protojson", schema, value);
      let text: string;
      try {
        text = goProtoJson(schema, toJson(schema, message, writeOptions), options.registry);
      } catch (err) {
        throw MicroError.internalServerError(
          CODEC_ID,
          `protojson: cannot encode ${schema.typeName}: ${messageOf(err)}`,
          { cause: err },
        );
      }
      return encoder.encode(newline ? `${text}\n` : text);
    },
    unmarshal(data, type) {
      const schema = schemaOf("protojson", type);
      if (!schema) return plain.unmarshal(data);
      let text: string;
      try {
        text = decoder.decode(data);
      } catch (err) {
        throw MicroError.badRequest(CODEC_ID, "protojson: body is not valid UTF-8", { cause: err });
      }
      // Go's server skips empty bodies, leaving the zero message.
      if (text.trim() === "") return create(schema);
      let json: JsonValue;
      try {
        json = JSON.parse(text) as JsonValue;
      } catch (err) {
        throw MicroError.badRequest(CODEC_ID, `protojson: cannot decode body: ${messageOf(err)}`, {
          cause: err,
        });
      }
      try {
        return fromJson(schema, json, readOptions);
      } catch (err) {
        throw MicroError.badRequest(
          CODEC_ID,
          `protojson: cannot decode ${schema.typeName}: ${messageOf(err)}`,
          {
            cause: err,
          },
        );
      }
    },
  };
}
