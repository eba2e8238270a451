/** Header Go Micro sets to the topic; the subscriber fills it from the routing key when missing. */
export const TOPIC_HEADER = "Micro-Topic";

/**
 * Converts one AMQP field-table value to the string a Go subscriber would see (Go formats with
 * `fmt.Sprintf("%v")`): strings as is, byte arrays as UTF-8 text, numbers, big integers and
 * booleans in decimal/`true`/`false`, dates and AMQP timestamps in ISO 8601, `null` as "", anything else as JSON.
 */
export function headerValueToString(value: unknown): string {
  if (typeof value === "string") return value;
  if (Buffer.isBuffer(value)) return value.toString("utf8");
  if (value instanceof Uint8Array) return Buffer.from(value).toString("utf8");
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean") {
    return String(value);
  }
  if (value === null || value === undefined) return "";
  if (value instanceof Date) return value.toISOString();
  if (typeof value === "object" && "!" in value && "value" in value) {
    // amqplib's typed values, e.g. { "!": "timestamp", value: <seconds> }
    const typed = value as { "!": unknown; value: unknown };
    if (typed["!"] === "timestamp" && typeof typed.value === "number") {
      return new Date(typed.value * 1000).toISOString();
    }
    return headerValueToString(typed.value);
  }
  try {
    return JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)) ?? "";
  } catch {
    return String(value);
  }
}

/** AMQP delivery headers → message headers (all strings); `Micro-Topic` defaults to the routing key. */
export function fromAmqpHeaders(
  headers: Record<string, unknown> | undefined,
  routingKey: string,
): Record<string, string> {
  const out: Record<string, string> = {};
  if (headers) {
    for (const [k, v] of Object.entries(headers)) out[k] = headerValueToString(v);
  }
  if (out[TOPIC_HEADER] === undefined) out[TOPIC_HEADER] = routingKey;
  return out;
}

/** Message headers → AMQP headers: a plain copy (amqplib writes JS strings as long strings, like Go). */
export function toAmqpHeaders(header: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(header)) out[k] = String(v);
  return out;
}
