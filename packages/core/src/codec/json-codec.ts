import { MicroError } from "../errors/micro-error.js";
import { goJson } from "../internal/go-json.js";
import { utf8Text } from "../internal/utf8.js";
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

import { Buffer, isUtf8 } from "node:buffer";

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
        text = stringify(value === undefined ? {} : needsConversion(value, 0) ? toJsonValue(value) : value);
      } catch (err) {
        throw MicroError.internalServerError(
          "go.micro.codec",
          `json: cannot encode value: ${(err as Error).message}`,
          {
            cause: err,
          },
        );
      }
      return Buffer.from(newline ? `${text}\n` : text, "utf8");
    },
    unmarshal(data) {
      if (data.byteLength === 0) return {};
      if (!isUtf8(data)) throw MicroError.badRequest("go.micro.codec", "json: body is not valid UTF-8");
      const text = utf8Text(data);
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

/**
 * True when `value` holds something `JSON.stringify` would not write as Go does: a `Uint8Array`
 * (Go's base64 `[]byte`) or a `bigint` (refused with a clear message). A walk without allocations;
 * values nested deeper than 64 levels take the converting path.
 */
function needsConversion(value: unknown, depth: number): boolean {
  if (typeof value === "bigint") return true;
  if (value === null || typeof value !== "object") return false;
  if (value instanceof Uint8Array || depth > 64) return true;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (needsConversion(value[i], depth + 1)) return true;
    return false;
  }
  if (value instanceof Date || hasToJson(value)) return false;
  const record = value as Record<string, unknown>;
  for (const k in record) if (needsConversion(record[k], depth + 1)) return true;
  return false;
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
