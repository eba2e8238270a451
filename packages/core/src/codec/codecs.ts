import { createBytesCodec } from "./bytes-codec.js";
import type { Codec } from "./codec.js";
import { createJsonCodec } from "./json-codec.js";

/** Codecs by content type. The RPC client and server pick from it by the `Content-Type` header. */
export type CodecTable = ReadonlyMap<string, Codec>;

/**
 * The default table: `application/json` and `application/octet-stream`; `extra` codecs are added
 * (and override defaults for the same content type).
 */
export function createCodecTable(extra: Iterable<Codec> = []): CodecTable {
  const table = new Map<string, Codec>();
  for (const c of [createJsonCodec(), createBytesCodec(), ...extra]) table.set(c.contentType, c);
  return table;
}

/** The codec for a content type, ignoring parameters (`application/json; charset=utf-8`). */
export function codecFor(table: CodecTable, contentType: string): Codec | undefined {
  const exact = table.get(contentType);
  if (exact) return exact;
  const bare = contentType.split(";", 1)[0]?.trim().toLowerCase() ?? "";
  return table.get(bare);
}
