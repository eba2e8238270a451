/** A stream entry as Redis returns it: its id and its flat field/value list (null when trimmed). */
export interface StreamEntry {
  id: string;
  fields: string[] | null;
}

/**
 * Entries of an XREADGROUP reply for one stream. RESP2 gives `[[key, entries]]`; RESP3 in ioredis'
 * "legacy" mapping gives `[key, entries]`; both are accepted. `null` (timeout) gives [].
 */
export function parseReadReply(reply: unknown): StreamEntry[] {
  if (!Array.isArray(reply) || reply.length === 0) return [];
  const first: unknown = reply[0];
  const entries: unknown = Array.isArray(first) ? first[1] : reply[1];
  return parseEntries(entries);
}

/** `[nextCursor, entries, deletedIds]` of XAUTOCLAIM (Redis ≥ 7; 6.2 has no third element). */
export function parseAutoClaimReply(reply: unknown): {
  cursor: string;
  entries: StreamEntry[];
  deleted: string[];
} {
  if (!Array.isArray(reply)) return { cursor: "0-0", entries: [], deleted: [] };
  const deleted: unknown = reply[2];
  return {
    cursor: typeof reply[0] === "string" ? reply[0] : "0-0",
    entries: parseEntries(reply[1]),
    deleted: Array.isArray(deleted) ? deleted.filter((d): d is string => typeof d === "string") : [],
  };
}

/** Delivery counts from the extended XPENDING form: `[[id, consumer, idleMs, deliveries], ...]`. */
export function parsePendingCounts(reply: unknown): Map<string, number> {
  const out = new Map<string, number>();
  if (!Array.isArray(reply)) return out;
  for (const row of reply) {
    if (Array.isArray(row) && typeof row[0] === "string") out.set(row[0], Number(row[3]));
  }
  return out;
}

/** The value of `name` in a flat `[field, value, ...]` list. */
export function field(fields: string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

function parseEntries(entries: unknown): StreamEntry[] {
  if (!Array.isArray(entries)) return [];
  const out: StreamEntry[] = [];
  for (const e of entries) {
    if (!Array.isArray(e) || typeof e[0] !== "string") continue;
    const f: unknown = e[1];
    out.push({ id: e[0], fields: Array.isArray(f) ? f.map(String) : null });
  }
  return out;
}
