/**
 * Go Micro's RPC ("mucp") header names, in the canonical spelling Go's HTTP stack puts on the
 * wire (`Micro-Id`, not `Micro-ID`). Lookups must be case-insensitive: use {@link getHeader}.
 */
export const Header = {
  /** Pub/sub topic; its presence marks an event. */
  Topic: "Micro-Topic",
  /** Target service name. */
  Service: "Micro-Service",
  /** `Type.Method`. */
  Endpoint: "Micro-Endpoint",
  /** Legacy duplicate of Endpoint; Go writes both. */
  Method: "Micro-Method",
  /** Request sequence id. */
  Id: "Micro-Id",
  /** Error JSON, a plain error string, or `EOS`. */
  Error: "Micro-Error",
  /** Stream id; presence marks a stream message. */
  Stream: "Micro-Stream",
  Protocol: "Micro-Protocol",
  Target: "Micro-Target",
  ContentType: "Content-Type",
  Accept: "Accept",
  /** Remaining deadline in decimal nanoseconds. */
  Timeout: "Timeout",
  /**
   * Set (to `1`) by a micro-ts server on the first reply of each connection: it serves concurrent
   * requests of one connection apart by `Micro-Id` and echoes each id. Clients never send it
   * (Go Micro's HTTP transport copies request headers into its replies).
   */
  Multiplex: "Micro-Multiplex",
} as const;

/** The `Micro-Error` value that ends a stream, in either direction. */
export const EOS = "EOS";

/**
 * Header lookup that ignores case and, like Go Micro's server, also tries the `X-` prefixed form
 * (`X-Micro-Service`).
 */
export function getHeader(header: Record<string, string>, name: string): string | undefined {
  const direct = header[name];
  if (direct !== undefined) return direct;
  // Only keys of the right length are lowered: a miss (the usual case) allocates nothing.
  const n = name.length;
  let lower: string | undefined;
  let x: string | undefined;
  for (const k in header) {
    if (k.length === n) {
      lower ??= name.toLowerCase();
      if (k.toLowerCase() === lower) return header[k];
    } else if (k.length === n + 2 && (k.charCodeAt(0) | 0x20) === 0x78 && k.charCodeAt(1) === 0x2d) {
      lower ??= name.toLowerCase();
      if (k.slice(2).toLowerCase() === lower) x = header[k];
    }
  }
  return x;
}

/**
 * Headers that describe one hop (routing, framing, transport) rather than the caller. They are not
 * forwarded when a handler's metadata flows into its own outgoing calls.
 */
const hopHeaders = new Set(
  [
    ...Object.values(Header),
    "Micro-Namespace",
    "Host",
    "User-Agent",
    "Content-Length",
    "Connection",
    "Transfer-Encoding",
    "Keep-Alive",
    "Local",
    "Remote",
  ].map((h) => h.toLowerCase()),
);

/** True for headers that must not be forwarded to a downstream call. */
export function isHopHeader(name: string): boolean {
  const l = name.toLowerCase();
  return hopHeaders.has(l) || (l.startsWith("x-micro-") && hopHeaders.has(l.slice(2)));
}

/** Formats a remaining budget in milliseconds as the `Timeout` header (decimal nanoseconds). */
export function timeoutHeader(ms: number): string {
  return String(Math.max(1, Math.round(ms)) * 1_000_000);
}

/** Parses the `Timeout` header to milliseconds; undefined when absent or malformed. */
export function parseTimeoutHeader(value: string | undefined): number | undefined {
  if (value === undefined || value.length === 0) return undefined;
  // Digits only, read here rather than by a regular expression and Number(): Number() of the
  // 12-digit text alone took a server about 620 instructions per request (callgrind). Exact up to
  // 2^53 ns (104 days); a longer text is Infinity, refused.
  let ns = 0;
  for (let i = 0; i < value.length; i++) {
    const digit = value.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return undefined;
    ns = ns * 10 + digit;
  }
  return Number.isFinite(ns) && ns > 0 ? ns / 1_000_000 : undefined;
}

/** The routing headers of one message, read in one pass ({@link readRouting}). */
export interface Routing {
  topic: string | undefined;
  service: string | undefined;
  endpoint: string | undefined;
  method: string | undefined;
  id: string | undefined;
  error: string | undefined;
  stream: string | undefined;
  protocol: string | undefined;
  target: string | undefined;
  contentType: string | undefined;
  timeout: string | undefined;
}

type RoutingField = keyof Routing;

/** Lower-case header name → field, for the names in {@link Header}. */
const routingFields = new Map<string, RoutingField>([
  ["micro-topic", "topic"],
  ["micro-service", "service"],
  ["micro-endpoint", "endpoint"],
  ["micro-method", "method"],
  ["micro-id", "id"],
  ["micro-error", "error"],
  ["micro-stream", "stream"],
  ["micro-protocol", "protocol"],
  ["micro-target", "target"],
  ["content-type", "contentType"],
  ["timeout", "timeout"],
]);
/** Exact canonical spellings (what micro-ts and Go write), matched without lower-casing. */
const canonicalFields = new Map<string, RoutingField>(
  Object.values(Header).flatMap((name) => {
    const field = routingFields.get(name.toLowerCase());
    return field ? [[name, field] as const] : [];
  }),
);

/**
 * Reads every routing header of `header` in one pass, with {@link getHeader}'s rules: the exact
 * spelling wins, then any other case, then the `X-` prefixed form. A header in canonical spelling
 * (the usual case) is found by comparing names, which are interned, and stored into its field
 * by name: in a perf profile of a server at c=64, the map lookups, hashing and stores by computed
 * key of the old way took about 3 % of its samples. Any other name goes through
 * {@link otherSpelling}.
 */
export function readRouting(header: Record<string, string>): Routing {
  const r: Routing = {
    topic: undefined,
    service: undefined,
    endpoint: undefined,
    method: undefined,
    id: undefined,
    error: undefined,
    stream: undefined,
    protocol: undefined,
    target: undefined,
    contentType: undefined,
    timeout: undefined,
  };
  // Rank of the key each field was taken from: 0 exact, 1 other case, 2 X- prefix. Kept only
  // once a header in another spelling was seen.
  let ranks: Partial<Record<RoutingField, number>> | undefined;
  for (const k in header) {
    const v = header[k];
    // The exact spelling always wins: an object holds each name once.
    switch (k) {
      case "Micro-Topic":
        r.topic = v;
        break;
      case "Micro-Service":
        r.service = v;
        break;
      case "Micro-Endpoint":
        r.endpoint = v;
        break;
      case "Micro-Method":
        r.method = v;
        break;
      case "Micro-Id":
        r.id = v;
        break;
      case "Micro-Error":
        r.error = v;
        break;
      case "Micro-Stream":
        r.stream = v;
        break;
      case "Micro-Protocol":
        r.protocol = v;
        break;
      case "Micro-Target":
        r.target = v;
        break;
      case "Content-Type":
        r.contentType = v;
        break;
      case "Timeout":
        r.timeout = v;
        break;
      case "Accept":
      case "Micro-Multiplex":
        continue;
      default:
        ranks = otherSpelling(r, ranks, k, v);
        continue;
    }
    if (ranks !== undefined) ranks[canonicalFields.get(k) as RoutingField] = 0;
  }
  return r;
}

/**
 * A header not in canonical spelling: the field it names in another case or with an `X-`
 * prefix takes its value, unless a better spelling already gave one (as getHeader: the first name
 * in another case, and the last `X-` form). Returns the ranks, made on first use.
 */
function otherSpelling(
  r: Routing,
  ranks: Partial<Record<RoutingField, number>> | undefined,
  k: string,
  v: string | undefined,
): Partial<Record<RoutingField, number>> | undefined {
  const lower = k.toLowerCase();
  let field = routingFields.get(lower);
  let rank = 1;
  if (field === undefined && lower.startsWith("x-")) {
    field = routingFields.get(lower.slice(2));
    rank = 2;
  }
  if (field === undefined) return ranks;
  const taken = r[field] === undefined ? undefined : (ranks?.[field] ?? 0);
  if (taken !== undefined && (taken < rank || (taken === rank && rank < 2))) return ranks;
  r[field] = v;
  const out = ranks ?? {};
  out[field] = rank;
  return out;
}
