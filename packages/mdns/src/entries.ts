import type { DnsMessage } from "./dns/dns-types.js";

/** A service instance assembled from response records (Go's `ServiceEntry`). */
export interface FoundEntry {
  /** Instance name, fully qualified (`<id>.<service>.<domain>.`). */
  name: string;
  host?: string;
  port?: number;
  ipv4?: string;
  ipv6?: string;
  txt?: Uint8Array[];
  /** TTL of the SRV record (else the PTR, else the TXT): 0 means goodbye. */
  ttl?: number;
}

/**
 * Assembles entries from response messages the way Go's client does: PTR targets, SRV owners and
 * TXT owners name entries; A/AAAA records belong to the entries whose SRV target they name (or that
 * they name directly). Feed it every message of one query (state carries across messages, so an
 * address seen earlier for a host still counts) or a single message (watch).
 */
export class EntryCollector {
  private readonly entries = new Map<string, FoundEntry>();
  private readonly hosts = new Map<string, { ipv4?: string; ipv6?: string }>();

  /** Adds the records of the Answer and Additional sections of `message`. */
  add(message: DnsMessage): void {
    const touched = new Set<FoundEntry>();
    const msgHosts = new Map<string, { ipv4?: string; ipv6?: string }>();
    const ttlRank = new Map<FoundEntry, number>();
    const get = (name: string) => {
      const key = name.toLowerCase();
      let e = this.entries.get(key);
      if (!e) {
        e = { name };
        this.entries.set(key, e);
      }
      touched.add(e);
      return e;
    };
    // SRV beats PTR beats TXT as the source of an entry's TTL.
    const setTtl = (e: FoundEntry, ttl: number, rank: number) => {
      if ((ttlRank.get(e) ?? 0) > rank) return;
      ttlRank.set(e, rank);
      e.ttl = ttl;
    };
    for (const r of [...message.answers, ...message.additionals]) {
      switch (r.type) {
        case "PTR":
          setTtl(get(r.target), r.ttl, 2);
          break;
        case "SRV": {
          const e = get(r.name);
          e.host = r.target;
          e.port = r.port;
          setTtl(e, r.ttl, 3);
          break;
        }
        case "TXT": {
          const e = get(r.name);
          e.txt = r.strings;
          setTtl(e, r.ttl, 1);
          break;
        }
        case "A":
        case "AAAA": {
          const key = r.name.toLowerCase();
          const h = msgHosts.get(key) ?? {};
          if (r.type === "A") h.ipv4 ??= r.address;
          else h.ipv6 ??= r.address;
          msgHosts.set(key, h);
          break;
        }
        default:
          break;
      }
    }
    // Addresses in this message belong to this message's entries; an entry without one here falls
    // back to what an earlier message said about its host.
    for (const e of touched) {
      const here = (e.host && msgHosts.get(e.host.toLowerCase())) || msgHosts.get(e.name.toLowerCase());
      const before = e.host ? this.hosts.get(e.host.toLowerCase()) : undefined;
      const h = here ?? before;
      if (!h) continue;
      if (here || e.ipv4 === undefined) e.ipv4 = h.ipv4 ?? e.ipv4;
      if (here || e.ipv6 === undefined) e.ipv6 = h.ipv6 ?? e.ipv6;
    }
    for (const [k, h] of msgHosts) this.hosts.set(k, { ...this.hosts.get(k), ...h });
  }

  /** Entries with an address, a port and a TXT record (Go's `complete()`). */
  complete(): FoundEntry[] {
    return [...this.entries.values()].filter(
      (e) => (e.ipv4 !== undefined || e.ipv6 !== undefined) && e.port !== undefined && e.txt !== undefined,
    );
  }
}

/** `host:port` of an entry, IPv4 preferred, IPv6 in brackets (Go's GetService). */
export function entryAddress(e: FoundEntry): string {
  return e.ipv4 !== undefined ? `${e.ipv4}:${e.port}` : `[${e.ipv6}]:${e.port}`;
}
