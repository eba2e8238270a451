import {
  type DescField,
  type DescMessage,
  type JsonValue,
  type Registry,
  ScalarType,
} from "@bufbuild/protobuf";

/**
 * Writes a protojson value (as `toJson` builds it) as Go Micro's JSON codec puts it on the wire:
 * Go's `protojson.Marshal`, re-encoded by `json.Encoder`. That means:
 * - fields in declaration order (protojson's `order.IndexOrder`), not field-number order;
 * - map entries sorted by key (numerically for integer keys, `false` before `true`);
 * - `float` fields printed with the shortest float32 digits (`0.1`, not `0.10000000149011612`);
 * - compact, with `<`, `>`, `&`, U+2028, U+2029 escaped as `\u003c`-style sequences (json.Encoder's
 *   HTML escaping); other characters as `JSON.stringify` (protojson escapes the same set).
 */
export function goProtoJson(schema: DescMessage, json: JsonValue, registry?: Registry): string {
  return new Writer(registry).message(schema, json);
}

class Writer {
  constructor(private readonly registry: Registry | undefined) {}

  message(desc: DescMessage, json: JsonValue): string {
    if (json === null || typeof json !== "object" || Array.isArray(json)) {
      // Well-known types with a scalar JSON form (Timestamp, Duration, wrappers, Value, ...).
      if (desc.typeName === "google.protobuf.FloatValue" && typeof json === "number") return float32(json);
      return generic(
        json,
        desc.typeName === "google.protobuf.Value" || desc.typeName === "google.protobuf.ListValue",
      );
    }
    if (desc.typeName === "google.protobuf.Struct") return generic(json, true);
    if (desc.typeName === "google.protobuf.Any") return this.any(json);
    const parts: string[] = [];
    const done = new Set<string>();
    for (const field of desc.fields) {
      for (const key of [field.jsonName, field.name]) {
        if (done.has(key) || !Object.hasOwn(json, key)) continue;
        done.add(key);
        parts.push(`${str(key)}:${this.field(field, json[key] as JsonValue)}`);
      }
    }
    // Extensions (`[pkg.ext]`) and anything else, in the order given.
    for (const [key, value] of Object.entries(json)) {
      if (!done.has(key)) parts.push(`${str(key)}:${generic(value, false)}`);
    }
    return `{${parts.join(",")}}`;
  }

  /** `@type` first, then the embedded message (or its `value` for types with a custom JSON form). */
  private any(json: { [k: string]: JsonValue }): string {
    const typeUrl = json["@type"];
    const parts: string[] = [];
    if (typeof typeUrl === "string") parts.push(`"@type":${str(typeUrl)}`);
    const name = typeof typeUrl === "string" ? typeUrl.slice(typeUrl.lastIndexOf("/") + 1) : "";
    const inner = name ? this.registry?.getMessage(name) : undefined;
    const rest: { [k: string]: JsonValue } = {};
    for (const [k, v] of Object.entries(json)) if (k !== "@type") rest[k] = v;
    if (inner && CUSTOM_JSON.has(name) && "value" in rest) {
      parts.push(`"value":${this.message(inner, rest.value as JsonValue)}`);
    } else if (inner && !CUSTOM_JSON.has(name)) {
      const body = this.message(inner, rest);
      if (body.length > 2) parts.push(body.slice(1, -1));
    } else {
      for (const [k, v] of Object.entries(rest)) parts.push(`${str(k)}:${generic(v, false)}`);
    }
    return `{${parts.join(",")}}`;
  }

  private field(field: DescField, value: JsonValue): string {
    switch (field.fieldKind) {
      case "list":
        if (!Array.isArray(value)) return generic(value, false);
        return `[${value
          .map((v) =>
            field.listKind === "message"
              ? this.message(field.message, v)
              : field.listKind === "scalar"
                ? scalar(field.scalar, v)
                : generic(v, false),
          )
          .join(",")}]`;
      case "map": {
        if (value === null || typeof value !== "object" || Array.isArray(value)) return generic(value, false);
        const keys = sortMapKeys(field.mapKey, Object.keys(value));
        const entry = (v: JsonValue) =>
          field.mapKind === "message"
            ? this.message(field.message, v)
            : field.mapKind === "scalar"
              ? scalar(field.scalar, v)
              : generic(v, false);
        return `{${keys.map((k) => `${str(k)}:${entry(value[k] as JsonValue)}`).join(",")}}`;
      }
      case "message":
        return this.message(field.message, value);
      case "scalar":
        return scalar(field.scalar, value);
      default:
        return generic(value, false);
    }
  }
}

/** Well-known types whose JSON is not an object of their fields: inside Any they go under `value`. */
const CUSTOM_JSON = new Set(
  [
    "Any",
    "Timestamp",
    "Duration",
    "FieldMask",
    "Struct",
    "Value",
    "ListValue",
    "DoubleValue",
    "FloatValue",
    "Int64Value",
    "UInt64Value",
    "Int32Value",
    "UInt32Value",
    "BoolValue",
    "StringValue",
    "BytesValue",
  ].map((n) => `google.protobuf.${n}`),
);

function scalar(type: ScalarType, value: JsonValue): string {
  if (type === ScalarType.FLOAT && typeof value === "number") return float32(value);
  return generic(value, false);
}

/** Plain JSON; `sortKeys` for objects that are maps in Go (Struct). */
function generic(value: JsonValue, sortKeys: boolean): string {
  if (value === null) return "null";
  if (typeof value === "string") return str(value);
  if (typeof value === "number") return num(value);
  if (typeof value === "boolean") return value ? "true" : "false";
  if (Array.isArray(value)) return `[${value.map((v) => generic(v, sortKeys)).join(",")}]`;
  const keys = Object.keys(value);
  if (sortKeys) keys.sort(compareUtf8);
  return `{${keys.map((k) => `${str(k)}:${generic(value[k] as JsonValue, sortKeys)}`).join(",")}}`;
}

const NEEDS_ESCAPE = /[<>&\u2028\u2029]/;
const ESCAPE = /[<>&\u2028\u2029]/g;

/** A JSON string as Go writes it after protojson + json.Encoder. */
export function str(s: string): string {
  const text = JSON.stringify(s);
  return NEEDS_ESCAPE.test(text) ? text.replace(ESCAPE, escapeChar) : text;
}

function escapeChar(c: string): string {
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
}

/** A double as Go's protojson writes it ('f' between 1e-6 and 1e21, else 'e'; JS agrees). */
function num(n: number): string {
  if (Object.is(n, -0)) return "-0";
  return Number.isFinite(n) ? String(n) : "null";
}

/** The shortest decimal that reads back as the same float32, as Go's `FormatFloat(v, 'g', -1, 32)`. */
export function float32(n: number): string {
  if (!Number.isFinite(n) || n === 0) return num(n);
  const f = Math.fround(n);
  for (let p = 1; p <= 9; p++) {
    const s = Number(f.toPrecision(p));
    if (Math.fround(s) === f) return num(s);
  }
  return num(f);
}

function sortMapKeys(keyType: ScalarType, keys: string[]): string[] {
  switch (keyType) {
    case ScalarType.STRING:
      return keys.sort(compareUtf8);
    case ScalarType.BOOL:
      return keys.sort();
    default:
      return keys.sort((a, b) => {
        const x = toBigInt(a);
        const y = toBigInt(b);
        return x < y ? -1 : x > y ? 1 : 0;
      });
  }
}

/** Go compares strings by UTF-8 bytes; UTF-16 order differs only around surrogates. */
function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

function toBigInt(s: string): bigint {
  try {
    return BigInt(s);
  } catch {
    return 0n;
  }
}
