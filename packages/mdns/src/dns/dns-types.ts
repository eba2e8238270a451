/**
 * The subset of DNS (RFC 1035) and multicast DNS (RFC 6762) messages Go Micro's mDNS registry
 * uses: header, questions, and PTR, SRV, TXT, A and AAAA records. Other record types survive a
 * decode → encode round trip as raw rdata.
 */

/** Record and question type codes. */
export const RRType = {
  A: 1,
  PTR: 12,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  ANY: 255,
} as const;

/** Class IN. In mDNS the top bit of a question's class is the "unicast response" (QU) bit. */
export const CLASS_IN = 1;

/** Header flag bits (the 16-bit flags word). */
export const Flag = {
  /** QR: the message is a response. */
  Response: 0x8000,
  /** AA: authoritative answer (mDNS responders always set it). */
  Authoritative: 0x0400,
  /** TC: truncated. */
  Truncated: 0x0200,
  /** RD: recursion desired (mDNS queries leave it clear). */
  RecursionDesired: 0x0100,
} as const;

/** One entry of the question section. `name` is fully qualified with a trailing dot. */
export interface DnsQuestion {
  name: string;
  /** Type code, see {@link RRType}. */
  type: number;
  /** Raw 16-bit class: `1` (IN), or `0x8001` for an mDNS query asking for a unicast reply. */
  class: number;
}

/** Fields every resource record has. `name` is fully qualified with a trailing dot. */
export interface RecordHeader {
  name: string;
  /** Raw 16-bit class (the top bit is mDNS's cache-flush bit in responses). Default 1 (IN). */
  class?: number | undefined;
  /** Time to live in seconds; 0 is an mDNS goodbye. */
  ttl: number;
}

/** An IPv4 address record. `address` is dotted-quad. */
export interface ARecord extends RecordHeader {
  type: "A";
  address: string;
}
/** An IPv6 address record. `address` is in RFC 5952 text form. */
export interface AaaaRecord extends RecordHeader {
  type: "AAAA";
  address: string;
}
/** A pointer record: `name` points at `target` (service → instance in DNS-SD). */
export interface PtrRecord extends RecordHeader {
  type: "PTR";
  target: string;
}
/** A service location record: the instance `name` lives on `target`:`port`. */
export interface SrvRecord extends RecordHeader {
  type: "SRV";
  priority: number;
  weight: number;
  port: number;
  target: string;
}
/** A text record: a list of character-strings of at most 255 bytes each. */
export interface TxtRecord extends RecordHeader {
  type: "TXT";
  strings: Uint8Array[];
}
/** Any other record type, kept as raw rdata (names inside are not decompressed). */
export interface UnknownRecord extends RecordHeader {
  type: "UNKNOWN";
  code: number;
  rdata: Uint8Array;
}

/** One resource record. */
export type DnsRecord = ARecord | AaaaRecord | PtrRecord | SrvRecord | TxtRecord | UnknownRecord;

/** A whole DNS message. */
export interface DnsMessage {
  /** 16-bit message id; mDNS multicast responses use 0. */
  id: number;
  /** Raw 16-bit flags word, see {@link Flag}; the opcode is bits 11–14 and the rcode bits 0–3. */
  flags: number;
  questions: DnsQuestion[];
  answers: DnsRecord[];
  authorities: DnsRecord[];
  additionals: DnsRecord[];
}

/** The numeric type code of a record. */
export function typeCode(r: DnsRecord): number {
  switch (r.type) {
    case "A":
      return RRType.A;
    case "AAAA":
      return RRType.AAAA;
    case "PTR":
      return RRType.PTR;
    case "SRV":
      return RRType.SRV;
    case "TXT":
      return RRType.TXT;
    case "UNKNOWN":
      return r.code;
  }
}

/** Whether two domain names are equal (DNS names compare ASCII case-insensitively). */
export function sameName(a: string, b: string): boolean {
  return fqdn(a).toLowerCase() === fqdn(b).toLowerCase();
}

/** `name` with exactly one trailing dot (the root is "."). */
export function fqdn(name: string): string {
  if (name === "" || name === ".") return ".";
  return name.endsWith(".") ? name : `${name}.`;
}
