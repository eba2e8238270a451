import { isIP } from "node:net";
import { networkInterfaces } from "node:os";
import { MicroError } from "../errors/micro-error.js";

/** A parsed `host:port`. `host` has no brackets; "" means every interface. */
export interface HostPort {
  host: string;
  port: number;
}

/**
 * Parses `host:port`, `[v6]:port`, `:port`, a bare port or an `http://host:port` URL (the scheme
 * and any path are ignored). Throws MicroError 400 for anything else.
 */
export function parseHostPort(address: string, id: string): HostPort {
  let a = address.trim();
  const scheme = a.indexOf("://");
  if (scheme >= 0) a = a.slice(scheme + 3);
  const slash = a.indexOf("/");
  if (slash >= 0) a = a.slice(0, slash);
  let host: string;
  let portText: string;
  if (a.startsWith("[")) {
    const end = a.indexOf("]");
    if (end < 0 || a[end + 1] !== ":") throw bad(address, id);
    host = a.slice(1, end);
    portText = a.slice(end + 2);
  } else if (/^\d+$/.test(a)) {
    host = "";
    portText = a;
  } else {
    const colon = a.lastIndexOf(":");
    if (colon < 0 || a.indexOf(":") !== colon) throw bad(address, id);
    host = a.slice(0, colon);
    portText = a.slice(colon + 1);
  }
  if (!/^\d{1,5}$/.test(portText)) throw bad(address, id);
  const port = Number(portText);
  if (port > 65535) throw bad(address, id);
  return { host, port };
}

/** `host:port`, with IPv6 literals in brackets and IPv4-mapped IPv6 (`::ffff:1.2.3.4`) unwrapped. */
export function formatHostPort(host: string | undefined, port: number | undefined): string {
  let h = host ?? "";
  if (h.startsWith("::ffff:") && isIP(h.slice(7)) === 4) h = h.slice(7);
  return isIP(h) === 6 ? `[${h}]:${port ?? 0}` : `${h}:${port ?? 0}`;
}

/** True for the "every interface" hosts: "", 0.0.0.0 and ::. */
export function isWildcardHost(host: string): boolean {
  return host === "" || host === "0.0.0.0" || host === "::" || host === "[::]";
}

/**
 * The host peers should dial when a listener is bound to every interface, as Go Micro's
 * `addr.Extract` does: the first non-internal IPv4 address of this machine, else 127.0.0.1.
 */
export function advertisedHost(bound: string): string {
  if (!isWildcardHost(bound)) return bound;
  for (const list of Object.values(networkInterfaces())) {
    for (const ni of list ?? []) {
      if (ni.family === "IPv4" && !ni.internal) return ni.address;
    }
  }
  return "127.0.0.1";
}

function bad(address: string, id: string): MicroError {
  return MicroError.badRequest(id, `invalid address "${address}": want host:port`);
}
