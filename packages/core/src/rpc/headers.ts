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
  const lower = name.toLowerCase();
  const xLower = `x-${lower}`;
  let x: string | undefined;
  for (const k in header) {
    const kl = k.toLowerCase();
    if (kl === lower) return header[k];
    if (kl === xLower) x = header[k];
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
  if (!value || !/^\d+$/.test(value)) return undefined;
  const ns = Number(value);
  return Number.isFinite(ns) && ns > 0 ? ns / 1_000_000 : undefined;
}
