import { isIPv4 } from "node:net";
import type { ServiceRecord } from "@microts/core";
import { MicroError } from "@microts/core";
import { encodeMessage } from "./dns/dns-encode.js";
import type { DnsMessage, DnsQuestion, DnsRecord } from "./dns/dns-types.js";
import { Flag, RRType, sameName } from "./dns/dns-types.js";
import { ID, parseNodeAddress } from "./options.js";
import { encodeTxt } from "./txt.js";

/** Go's `defaultTTL`: every record is announced with 120 seconds. */
export const DEFAULT_TTL_S = 120;
/** The port Go registers for the per-service `_services` entry. */
const WILDCARD_PORT = 9999;

/** One registered node as the responder holds it. Names are fully qualified. */
export interface ZoneEntry {
  /** Service name (`greeter`). */
  service: string;
  /** `<service>.<domain>.` */
  serviceName: string;
  /** `<node id>.<service>.<domain>.` */
  instance: string;
  /** SRV target and owner of the A/AAAA records: `<hostname>.` */
  host: string;
  port: number;
  /** The node's IP literal (IPv4 goes in an A record, IPv6 in an AAAA record). */
  ip: string;
  /** The TXT strings (Go's hex(zlib(JSON)) chunks). */
  txt: Uint8Array[];
}

/** The names Go Micro's mDNS registry uses in `domain` (given without the trailing dot). */
export function names(domain: string) {
  return {
    service: (service: string) => `${service}.${domain}.`,
    instance: (id: string, service: string) => `${id}.${service}.${domain}.`,
    /** The listing service `_services.<domain>.` */
    services: `_services.${domain}.`,
    /** Per-service entry in the listing: `<service>._services.<domain>.` */
    serviceEntry: (service: string) => `${service}._services.${domain}.`,
    /** DNS-SD enumeration name Go's listing entry also answers. */
    enumeration: `_services._dns-sd._udp.${domain}.`,
  };
}

/** Go's record set for an instance: SRV (priority 10, weight 1), A or AAAA, TXT. */
export function instanceRecords(
  e: ZoneEntry,
  ttl: number,
  types: "ANY" | "SRV" | "TXT" = "ANY",
): DnsRecord[] {
  const out: DnsRecord[] = [];
  if (types !== "TXT") {
    out.push({ name: e.instance, type: "SRV", ttl, priority: 10, weight: 1, port: e.port, target: e.host });
    out.push(addressRecord(e.host, e.ip, ttl));
  }
  if (types !== "SRV") out.push({ name: e.instance, type: "TXT", ttl, strings: e.txt });
  return out;
}

/** The answer to a PTR query for the entry's service: PTR, SRV, A/AAAA, TXT, in Go's order. */
export function serviceRecords(e: ZoneEntry, ttl: number): DnsRecord[] {
  return [{ name: e.serviceName, type: "PTR", ttl, target: e.instance }, ...instanceRecords(e, ttl)];
}

function addressRecord(host: string, ip: string, ttl: number): DnsRecord {
  return isIPv4(ip)
    ? { name: host, type: "A", ttl, address: ip }
    : { name: host, type: "AAAA", ttl, address: ip };
}

/** The listing entry Go registers per service: port 9999, address 0.0.0.0, an empty TXT. */
export function listingEntry(domain: string, service: string, host: string): ZoneEntry {
  const n = names(domain);
  return {
    service,
    serviceName: n.services,
    instance: n.serviceEntry(service),
    host,
    port: WILDCARD_PORT,
    ip: "0.0.0.0",
    // RFC 6763 §6.1: an "empty" TXT record is one zero-length string.
    txt: [new Uint8Array(0)],
  };
}

/**
 * The answers to one question, as groups: each group goes into its own response message (Go runs
 * one responder per node, so each node's records arrive in a message of their own; clients pair
 * A records with the SRV target they follow, which only works one node per message).
 */
export function answer(
  q: DnsQuestion,
  entries: readonly ZoneEntry[],
  zone: { domain: string; host: string; ttl: number },
): DnsRecord[][] {
  const { domain, host, ttl } = zone;
  const n = names(domain);
  const qtype = q.type;
  const isPtr = qtype === RRType.PTR || qtype === RRType.ANY;
  if (isPtr && sameName(q.name, n.services)) {
    const services = [...new Set(entries.map((e) => e.service))];
    return services.map((s) => serviceRecords(listingEntry(domain, s, host), ttl));
  }
  if (isPtr && sameName(q.name, n.enumeration) && entries.length > 0) {
    return [[{ name: n.enumeration, type: "PTR", ttl, target: n.services }]];
  }
  if (isPtr) {
    const matching = entries.filter((e) => sameName(e.serviceName, q.name));
    if (matching.length > 0) return matching.map((e) => serviceRecords(e, ttl));
  }
  const kind =
    qtype === RRType.ANY ? "ANY" : qtype === RRType.SRV ? "SRV" : qtype === RRType.TXT ? "TXT" : undefined;
  if (kind) {
    for (const e of entries) if (sameName(e.instance, q.name)) return [instanceRecords(e, ttl, kind)];
    for (const s of new Set(entries.map((e) => e.service))) {
      const listing = listingEntry(domain, s, host);
      if (sameName(listing.instance, q.name)) return [instanceRecords(listing, ttl, kind)];
    }
  }
  if (qtype === RRType.A || qtype === RRType.AAAA || qtype === RRType.ANY) {
    const ips = new Set(entries.filter((e) => sameName(e.host, q.name)).map((e) => e.ip));
    const records = [...ips]
      .map((ip) => addressRecord(q.name, ip, ttl))
      .filter((r) => qtype === RRType.ANY || (qtype === RRType.A) === (r.type === "A"));
    if (records.length > 0) return [records];
  }
  return [];
}

/** A response message: QR and AA set, as Go's responder sends. */
export function response(answers: DnsRecord[], questions: DnsMessage["questions"], id: number): DnsMessage {
  return {
    id,
    flags: Flag.Response | Flag.Authoritative,
    questions,
    answers,
    authorities: [],
    additionals: [],
  };
}

/** The zone entries for a service's nodes; MicroError 400 for anything DNS cannot carry. */
export function toEntries(service: ServiceRecord, domain: string, host: string): ZoneEntry[] {
  if (!service.name) throw MicroError.badRequest(ID, "register: service name is required");
  const n = names(domain);
  return service.nodes.map((node) => {
    if (!node.id) throw MicroError.badRequest(ID, `register ${service.name}: node id is required`);
    const { ip, port } = parseNodeAddress(node.address);
    const entry: ZoneEntry = {
      service: service.name,
      serviceName: n.service(service.name),
      instance: n.instance(node.id, service.name),
      host,
      port,
      ip,
      txt: encodeTxt({
        service: service.name,
        version: service.version,
        endpoints: service.endpoints,
        metadata: node.metadata ?? {},
      }),
    };
    try {
      encodeMessage(response(serviceRecords(entry, 120), [], 0));
    } catch (err) {
      throw MicroError.badRequest(
        ID,
        `register ${service.name}: node ${node.id}: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
    return entry;
  });
}

/** Whether two entries would be announced identically. */
export function sameEntry(a: ZoneEntry, b: ZoneEntry): boolean {
  return (
    a.ip === b.ip &&
    a.port === b.port &&
    a.host === b.host &&
    a.txt.length === b.txt.length &&
    a.txt.every((s, i) => Buffer.compare(s, b.txt[i] as Uint8Array) === 0)
  );
}
