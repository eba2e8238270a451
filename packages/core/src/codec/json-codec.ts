import { MicroError } from "../errors/micro-error.js";
import { goJson } from "../internal/go-json.js";
import { strictUtf8Text, utf8Bytes } from "../internal/utf8.js";
import type { Codec } from "./codec.js";

/** Options for {@link createJsonCodec}. */
export interface JsonCodecOptions {
  /**
   * Append `\n` after each value, as Go Micro's JSON codec does (its output comes from
   * `json.Encoder.Encode`). Default true for wire compatibility; brokers' envelopes use false.
   */
  trailingNewline?: boolean;
  /**
   * Escape `<`, `>`, `&`, U+2028 and U+2029 as `\u003c`-style sequences, as Go's `encoding/json`
   * does, so the bytes equal Go's. Default false: every JSON reader (Go's too) reads both forms
   * the same, and skipping the scan saves time on every message.
   */
  escapeHtml?: boolean;
  /** Content type reported and matched. Default `application/json`. */
  contentType?: string;
}

import { Buffer } from "node:buffer";

/**
 * JSON, written as Go writes it (compact, trailing newline; `<>&` escaped on request) and read leniently
 * (whitespace, BOM-free UTF-8). Values are plain JSON: `bigint` is not supported, `Uint8Array`
 * is written as a base64 string like Go's `[]byte`.
 */
export function createJsonCodec(options: JsonCodecOptions = {}): Codec {
  const newline = options.trailingNewline ?? true;
  const stringify = options.escapeHtml ? goJson : plainJson;
  return {
    name: "json",
    contentType: options.contentType ?? "application/json",
    marshal(value) {
      let text: string;
      try {
        // Most values need no conversion: JSON.stringify takes them as they are.
        const v = value === undefined ? {} : value;
        const shape = inspect(v, 0);
        if (shape === CONVERT) text = stringify(toJsonValue(v));
        else text = (shape === LONG_STRINGS && !options.escapeHtml && longStringJson(v, 0)) || stringify(v);
      } catch (err) {
        throw MicroError.internalServerError(
          "go.micro.codec",
          `json: cannot encode value: ${(err as Error).message}`,
          {
            cause: err,
          },
        );
      }
      return utf8Bytes(text, newline ? 10 : -1);
    },
    unmarshal(data) {
      if (data.byteLength === 0) return {};
      const text = strictUtf8Text(data);
      if (text === undefined) throw MicroError.badRequest("go.micro.codec", "json: body is not valid UTF-8");
      if (isBlank(text)) return {};
      try {
        return JSON.parse(text) as unknown;
      } catch (err) {
        throw MicroError.badRequest("go.micro.codec", `json: cannot decode body: ${(err as Error).message}`, {
          cause: err,
        });
      }
    },
  };
}

function plainJson(value: unknown): string {
  return JSON.stringify(value) ?? "null";
}

/** True when `text` holds only JSON whitespace (checked without allocating a trimmed copy). */
function isBlank(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 10 && c !== 13 && c !== 9) return false;
  }
  return true;
}

/** What {@link inspect} found: nothing special, a long string, or a value to convert first. */
const PLAIN = 0;
const LONG_STRINGS = 1;
const CONVERT = 2;
/** Strings from this many UTF-16 units on are written by {@link longStringJson}. */
const LONG_STRING = 256;

/**
 * A walk without allocations. CONVERT when `value` holds something `JSON.stringify` would not
 * write as Go does: a `Uint8Array` (Go's base64 `[]byte`) or a `bigint` (refused with a clear
 * message); values nested deeper than 64 levels take the converting path too. LONG_STRINGS when
 * it holds a string of at least {@link LONG_STRING} units.
 */
function inspect(value: unknown, depth: number): number {
  if (typeof value === "string") return value.length >= LONG_STRING ? LONG_STRINGS : PLAIN;
  if (typeof value === "bigint") return CONVERT;
  if (value === null || typeof value !== "object") return PLAIN;
  if (value instanceof Uint8Array || depth > 64) return CONVERT;
  let found = PLAIN;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const f = inspect(value[i], depth + 1);
      if (f === CONVERT) return CONVERT;
      found |= f;
    }
    return found;
  }
  if (value instanceof Date || hasToJson(value)) return PLAIN;
  const record = value as Record<string, unknown>;
  for (const k in record) {
    const f = inspect(record[k], depth + 1);
    if (f === CONVERT) return CONVERT;
    found |= f;
  }
  return found;
}

/** A string JSON can hold as it is: no quote, backslash, control character or surrogate. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what JSON must escape
const VERBATIM = /^[^"\\\u0000-\u001f\ud800-\udfff]*$/;

/**
 * From this many UTF-16 units on, {@link verbatim} looks for each character JSON escapes with
 * `indexOf` (a native scan, a few instructions per 32 characters) instead of testing
 * {@link VERBATIM} (about 11.6 instructions per character): for one string, 10,100 instructions
 * instead of 11,700 at 1 KiB and 233,000 instead of 721,000 at 64 KiB; below 1 KiB the 34 calls
 * cost more than the regex saves (7,000 against 3,400 at 256 units). Counted with callgrind.
 */
const SEARCH_FROM = 1024;
/** What JSON must escape in a string besides lone surrogates. */
const ESCAPED: readonly string[] = [
  '"',
  "\\",
  ...Array.from({ length: 0x20 }, (_, i) => String.fromCharCode(i)),
];

/**
 * True when `s` can be written into JSON as it is, between quotes. A surrogate pair can (it is
 * what `JSON.stringify` writes too); a lone surrogate cannot. Short strings with any surrogate
 * are sent to `JSON.stringify`, which writes them right.
 */
function verbatim(s: string): boolean {
  if (s.length < SEARCH_FROM) return VERBATIM.test(s);
  for (let i = 0; i < ESCAPED.length; i++) if (s.indexOf(ESCAPED[i] as string) !== -1) return false;
  // ES2024, in Node since 20 (about 280 instructions for a 1 KiB one-byte string).
  return (s as string & { isWellFormed(): boolean }).isWellFormed();
}

/**
 * `JSON.stringify(value)` for plain data (objects whose prototype is Object's or null, arrays,
 * strings, finite numbers, booleans, null), written so that a long string that needs no escapes
 * is copied as it is: V8's `JSON.stringify` (Node 20) looks at every character, which for a
 * 1 KiB string costs twice the check. Returns undefined for anything else (a `toJSON`, a class
 * instance, a boxed primitive), which the caller hands to `JSON.stringify`.
 */
function longStringJson(value: unknown, depth: number): string | undefined {
  switch (typeof value) {
    case "string":
      return value.length >= LONG_STRING && verbatim(value) ? `"${value}"` : JSON.stringify(value);
    case "number":
      return Number.isFinite(value) ? String(value) : "null";
    case "boolean":
      return value ? "true" : "false";
    case "object":
      break;
    default:
      return undefined;
  }
  if (value === null) return "null";
  if (depth > 64) return undefined;
  if (Array.isArray(value)) {
    let out = "[";
    for (let i = 0; i < value.length; i++) {
      const item = value[i];
      const t =
        item === undefined || typeof item === "function" || typeof item === "symbol"
          ? "null"
          : longStringJson(item, depth + 1);
      if (t === undefined) return undefined;
      out += i === 0 ? t : `,${t}`;
    }
    return `${out}]`;
  }
  const proto = Object.getPrototypeOf(value);
  if ((proto !== Object.prototype && proto !== null) || hasToJson(value)) return undefined;
  const record = value as Record<string, unknown>;
  let out = "{";
  for (const k of Object.keys(record)) {
    const item = record[k];
    if (item === undefined || typeof item === "function" || typeof item === "symbol") continue;
    const t = longStringJson(item, depth + 1);
    if (t === undefined) return undefined;
    out += `${out.length === 1 ? "" : ","}${JSON.stringify(k)}:${t}`;
  }
  return `${out}}`;
}

function toJsonValue(value: unknown): unknown {
  if (value instanceof Uint8Array)
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64");
  if (typeof value === "bigint") throw new TypeError("bigint is not JSON; send it as a string");
  if (Array.isArray(value)) return value.map(toJsonValue);
  if (value !== null && typeof value === "object" && !(value instanceof Date) && !hasToJson(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (v !== undefined && typeof v !== "function") out[k] = toJsonValue(v);
    }
    return out;
  }
  return value;
}

function hasToJson(v: object): boolean {
  return typeof (v as { toJSON?: unknown }).toJSON === "function";
}
