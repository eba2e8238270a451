import { isIP, isIPv4 } from "node:net";
import { hostname as osHostname } from "node:os";
import { MicroError } from "@microts/core";

export const ID = "go.micro.registry";

/** Options for {@link createMdnsRegistry}. */
export interface MdnsRegistryOptions {
  /**
   * Multicast group and port as `host:port` (an `mdns://` prefix is allowed), the form the CLI's
   * `--registry_address` passes. Default `224.0.0.251:5353`. `multicastAddress` and `port` win
   * over it when given.
   */
  address?: string | undefined;
  /** DNS domain the records live in, without the trailing dot. Default `"micro"` (Go Micro's). */
  domain?: string | undefined;
  /**
   * How long `getService`/`listServices` collect answers, in milliseconds. Default 200. Go Micro
   * uses 100 ms; 200 ms leaves room for a busy machine. A caller's shorter `timeoutMs` shortens it.
   */
  timeoutMs?: number | undefined;
  /**
   * IPv4 address of the one interface to send and receive multicast on. Default `"127.0.0.1"`:
   * everything stays on this host (loopback), so only processes on this machine see each other.
   * Give a LAN interface's address (e.g. `"192.168.1.10"`) to be seen on that network, or
   * `"0.0.0.0"` for the interface of the default route.
   */
  interface?: string | undefined;
  /** UDP port of mDNS. Default 5353. */
  port?: number | undefined;
  /** IPv4 multicast group. Default `224.0.0.251` (mDNS). */
  multicastAddress?: string | undefined;
  /** Host name written as the SRV target (plus "."). Default `os.hostname()`, as Go does. */
  hostname?: string | undefined;
  /** TTL of every record, in seconds. Default 120 (Go's `defaultTTL`). Goodbyes use 0. */
  ttlSeconds?: number | undefined;
  /**
   * When the unsolicited announcements of a new node are sent, in milliseconds after `register`.
   * Default `[0, 1000, 3000]` (Go: at once, then after 1 s and 2 s more).
   */
  announceDelaysMs?: readonly number[] | undefined;
}

/** Options with defaults applied and validated. */
export interface ResolvedOptions {
  domain: string;
  timeoutMs: number;
  iface: string;
  port: number;
  group: string;
  /** Fully qualified host name (`name.`). */
  host: string;
  ttl: number;
  announceDelaysMs: readonly number[];
}

/** Applies defaults; throws MicroError 400 for an option that cannot work. */
export function resolveOptions(o: MdnsRegistryOptions): ResolvedOptions {
  const bad = (detail: string) => MicroError.badRequest(ID, `mdns registry: ${detail}`);
  let group = "224.0.0.251";
  let port = 5353;
  if (o.address) {
    const text = o.address.replace(/^mdns:\/\//, "");
    const m = /^([^:]+)(?::(\d+))?$/.exec(text);
    if (!m) throw bad(`address ${o.address}: want <multicast group>:<port>`);
    group = m[1] as string;
    if (m[2] !== undefined) port = Number(m[2]);
  }
  group = o.multicastAddress ?? group;
  port = o.port ?? port;
  const iface = o.interface ?? "127.0.0.1";
  const first = Number(group.split(".")[0]);
  if (!isIPv4(group) || first < 224 || first > 239) throw bad(`${group} is not an IPv4 multicast address`);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw bad(`invalid port ${port}`);
  if (!isIPv4(iface)) throw bad(`interface ${iface}: want the IPv4 address of an interface`);
  const domain = (o.domain ?? "micro").replace(/^\.+|\.+$/g, "");
  if (!domain) throw bad("empty domain");
  const timeoutMs = o.timeoutMs ?? 200;
  if (!(timeoutMs >= 0)) throw bad(`invalid timeoutMs ${timeoutMs}`);
  const ttl = o.ttlSeconds ?? 120;
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > 0x7fffffff) throw bad(`invalid ttlSeconds ${ttl}`);
  const name = (o.hostname ?? (osHostname() || "localhost")).replace(/\.+$/, "");
  return {
    domain,
    timeoutMs,
    iface,
    port,
    group,
    host: `${name}.`,
    ttl,
    announceDelaysMs: o.announceDelaysMs ?? [0, 1000, 3000],
  };
}

/**
 * Splits a node address `host:port` / `[v6]:port`. The host must be an IP literal (Go's
 * `net.ParseIP` rule) and the port 1–65535; anything else is MicroError 400.
 */
export function parseNodeAddress(address: string): { ip: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(address) ?? /^([^:]+):(\d+)$/.exec(address);
  const ip = m?.[1];
  const port = Number(m?.[2]);
  if (!ip || !isIP(ip) || ip.includes("%")) {
    throw MicroError.badRequest(ID, `mdns registry: node address ${address}: host must be an IP literal`);
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw MicroError.badRequest(ID, `mdns registry: node address ${address}: invalid port`);
  }
  return { ip, port };
}
