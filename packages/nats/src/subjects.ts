import { createHash } from "node:crypto";

/**
 * True when every subject `subject` can stand for (it may hold `*` / `>` wildcards itself) is
 * matched by the stream subject `pattern`.
 */
export function subjectCovers(pattern: string, subject: string): boolean {
  const p = pattern.split(".");
  const s = subject.split(".");
  for (let i = 0; i < p.length; i++) {
    const pt = p[i];
    if (pt === ">") return s.length > i;
    const st = s[i];
    if (st === undefined) return false;
    if (pt === "*") {
      if (st === ">") return false;
      continue;
    }
    if (pt !== st) return false;
  }
  return p.length === s.length;
}

/** Whether a subject has a wildcard token (`*` or `>`), so the subjects it receives vary. */
export function hasWildcard(subject: string): boolean {
  return subject.split(".").some((t) => t === "*" || t === ">");
}

/** A JetStream stream/consumer name made from free text: no `.`, `*`, `>`, whitespace or path separators. */
export function safeName(text: string, max = 48): string {
  const clean = text.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, max);
  return clean.length > 0 ? clean : "_";
}

/**
 * The durable consumer name for a queue group on a topic: readable part plus a hash of the exact
 * `(queue, topic)` pair, so topics that sanitise to the same text never share a consumer.
 * `orders` + `user.created` → `orders_user_created_1a2b3c4d`.
 */
export function durableName(queue: string, topic: string): string {
  const hash = createHash("sha256").update(`${queue}\u0000${topic}`).digest("hex").slice(0, 8);
  return `${safeName(queue, 40)}_${safeName(topic, 40)}_${hash}`;
}
