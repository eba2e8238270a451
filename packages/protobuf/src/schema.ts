import { create, type DescMessage, isMessage, type Message } from "@bufbuild/protobuf";
import { MicroError } from "@microts/core";

/** Error id of codec failures, as Go Micro's codec errors use. */
export const CODEC_ID = "go.micro.codec";

/**
 * True when `type` is a protobuf-es message descriptor (`DescMessage`, `GenMessage`): what
 * `EndpointSpec.requestType`, `CallOptions.responseType` and friends carry for this package.
 */
export function isMessageSchema(type: unknown): type is DescMessage {
  return (
    type !== null &&
    typeof type === "object" &&
    (type as { kind?: unknown }).kind === "message" &&
    typeof (type as { typeName?: unknown }).typeName === "string" &&
    Array.isArray((type as { fields?: unknown }).fields)
  );
}

/** The schema passed as a codec `type`, undefined when none; throws 500 for a foreign type. */
export function schemaOf(codec: string, type: unknown): DescMessage | undefined {
  if (type === undefined || type === null) return undefined;
  if (isMessageSchema(type)) return type;
  throw MicroError.internalServerError(
    CODEC_ID,
    `${codec}: the type given is not a protobuf-es message schema (DescMessage)`,
  );
}

/** True for any protobuf-es message (an object carrying `$typeName`). */
export function looksLikeMessage(value: unknown): value is Message {
  return (
    value !== null &&
    typeof value === "object" &&
    typeof (value as { $typeName?: unknown }).$typeName === "string"
  );
}

/**
 * `value` as a message of `schema`: a message of that schema is used as is, a plain object is
 * an init shape for `create`, `undefined`/`null` is the empty message. A message of another type
 * is a programming error: MicroError 500.
 */
export function toMessage(codec: string, schema: DescMessage, value: unknown): Message {
  if (isMessage(value, schema)) return value;
  if (looksLikeMessage(value)) {
    throw MicroError.internalServerError(
      CODEC_ID,
      `${codec}: cannot encode a ${value.$typeName} message as ${schema.typeName}`,
    );
  }
  if (value === undefined || value === null) return create(schema);
  if (typeof value !== "object" || Array.isArray(value)) {
    throw MicroError.internalServerError(
      CODEC_ID,
      `${codec}: cannot encode ${Array.isArray(value) ? "an array" : typeof value} as ${schema.typeName}; pass a message or an init object`,
    );
  }
  try {
    return create(schema, value as Record<string, unknown>);
  } catch (err) {
    throw MicroError.internalServerError(
      CODEC_ID,
      `${codec}: cannot build ${schema.typeName}: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

/** The message of an Error, for details. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
