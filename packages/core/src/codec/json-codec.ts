import { MicroError } from "../errors/micro-error.js";
import { goJson } from "../internal/go-json.js";
import type { Codec } from "./codec.js";

/** Options for {@link createJsonCodec}. */
export interface JsonCodecOptions {
  /**
   * Append `\n` after each value, as Go Micro's JSON codec does (its output comes from
   * `json.Encoder.Encode`). Default true for wire compatibility; brokers' envelopes use false.
   */
  trailingNewline?: boolean;
  /** Content type reported and matched. Default `application/json`. */
  contentType?: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * JSON, written as Go writes it (compact, `<>&` escaped, trailing newline) and read leniently
 * (whitespace, BOM-free UTF-8). Values are plain JSON: `bigint` is not supported, `Uint8Array`
 * is written as a base64 string like Go's `[]byte`.
 */
export function createJsonCodec(options: JsonCodecOptions = {}): Codec {
  const newline = options.trailingNewline ?? true;
  return {
    name: "json",
    contentType: options.contentType ?? "application/json",
    marshal(value) {
      let text: string;
      try {
        text = goJson(value === undefined ? {} : toJsonValue(value));
      } catch (err) {
        throw MicroError.internalServerError(
          "go.micro.codec",
          `json: cannot encode value: ${(err as Error).message}`,
          {
            cause: err,
          },
        );
      }
      return encoder.encode(newline ? `${text}\n` : text);
    },
    unmarshal(data) {
      if (data.byteLength === 0) return {};
      let text: string;
      try {
        text = decoder.decode(data);
      } catch (err) {
        throw MicroError.badRequest("go.micro.codec", "json: body is not valid UTF-8", { cause: err });
      }
      if (text.trim() === "") return {};
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
