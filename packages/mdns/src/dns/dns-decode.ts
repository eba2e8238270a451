import { type DnsMessage, type DnsQuestion, type DnsRecord, RRType } from "./dns-types.js";
import { ipv4FromBytes, ipv6FromBytes } from "./ip.js";

/** Thrown by {@link decodeMessage} for bytes that are not a well-formed DNS message. */
export class DnsFormatError extends Error {
  override readonly name = "DnsFormatError";
}

const utf8 = new TextDecoder("utf-8", { fatal: false });
/** More pointers than this in one name can only be a loop. */
const MAX_JUMPS = 64;

/**
 * Parses a DNS message. Throws {@link DnsFormatError} for truncated or malformed input (bad
 * pointers, pointer loops, names over 255 bytes, rdata overrunning its length, records whose rdata
 * does not fit their type); never throws anything else and never reads out of bounds. Bytes after
 * the last counted record are ignored, as most resolvers do.
 */
export function decodeMessage(bytes: Uint8Array): DnsMessage {
  const r = new Reader(bytes);
  const id = r.u16();
  const flags = r.u16();
  const qd = r.u16();
  const an = r.u16();
  const ns = r.u16();
  const ar = r.u16();
  // Each question needs at least 5 bytes and each record 11: reject absurd counts before looping.
  if (qd * 5 + (an + ns + ar) * 11 > bytes.length - 12)
    throw new DnsFormatError("section counts exceed message size");
  const questions: DnsQuestion[] = [];
  for (let i = 0; i < qd; i++) questions.push({ name: r.name(), type: r.u16(), class: r.u16() });
  const records = (n: number) => {
    const out: DnsRecord[] = [];
    for (let i = 0; i < n; i++) out.push(readRecord(r));
    return out;
  };
  return { id, flags, questions, answers: records(an), authorities: records(ns), additionals: records(ar) };
}

/** {@link decodeMessage}, or `undefined` for malformed input: what a socket handler wants. */
export function tryDecodeMessage(bytes: Uint8Array): DnsMessage | undefined {
  try {
    return decodeMessage(bytes);
  } catch {
    return undefined;
  }
}

function readRecord(r: Reader): DnsRecord {
  const name = r.name();
  const type = r.u16();
  const cls = r.u16();
  const ttl = r.u32();
  const rdlength = r.u16();
  const start = r.offset;
  const end = start + rdlength;
  if (end > r.bytes.length) throw new DnsFormatError("rdata overruns the message");
  const head = { name, class: cls, ttl };
  let record: DnsRecord;
  switch (type) {
    case RRType.A:
      if (rdlength !== 4) throw new DnsFormatError(`A rdata of ${rdlength} bytes`);
      record = { ...head, type: "A", address: ipv4FromBytes(r.take(4)) };
      break;
    case RRType.AAAA:
      if (rdlength !== 16) throw new DnsFormatError(`AAAA rdata of ${rdlength} bytes`);
      record = { ...head, type: "AAAA", address: ipv6FromBytes(r.take(16)) };
      break;
    case RRType.PTR:
      record = { ...head, type: "PTR", target: r.name() };
      break;
    case RRType.SRV:
      record = { ...head, type: "SRV", priority: r.u16(), weight: r.u16(), port: r.u16(), target: r.name() };
      break;
    case RRType.TXT: {
      const strings: Uint8Array[] = [];
      while (r.offset < end) {
        const n = r.u8();
        if (r.offset + n > end) throw new DnsFormatError("TXT string overruns its record");
        strings.push(r.take(n));
      }
      record = { ...head, type: "TXT", strings };
      break;
    }
    default:
      record = { ...head, type: "UNKNOWN", code: type, rdata: r.take(rdlength) };
  }
  if (r.offset !== end) throw new DnsFormatError(`rdata length ${rdlength} does not match its content`);
  return record;
}

/** A bounds-checked big-endian reader. */
class Reader {
  offset = 0;
  constructor(readonly bytes: Uint8Array) {}

  private need(n: number): void {
    if (this.offset + n > this.bytes.length) throw new DnsFormatError("message truncated");
  }
  u8(): number {
    this.need(1);
    return this.bytes[this.offset++] as number;
  }
  u16(): number {
    this.need(2);
    const v = ((this.bytes[this.offset] as number) << 8) | (this.bytes[this.offset + 1] as number);
    this.offset += 2;
    return v;
  }
  u32(): number {
    return this.u16() * 0x10000 + this.u16();
  }
  take(n: number): Uint8Array {
    this.need(n);
    const out = this.bytes.slice(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }
  /** A possibly compressed name, fully qualified with a trailing dot. */
  name(): string {
    const labels: string[] = [];
    let pos = this.offset;
    let jumped = false;
    let jumps = 0;
    let wireLength = 1;
    for (;;) {
      if (pos >= this.bytes.length) throw new DnsFormatError("name truncated");
      const len = this.bytes[pos] as number;
      if ((len & 0xc0) === 0xc0) {
        if (pos + 1 >= this.bytes.length) throw new DnsFormatError("pointer truncated");
        const target = ((len & 0x3f) << 8) | (this.bytes[pos + 1] as number);
        // Pointers must go strictly backwards, which also rules out loops; the jump cap is a backstop.
        if (target >= pos || ++jumps > MAX_JUMPS) throw new DnsFormatError("bad compression pointer");
        if (!jumped) this.offset = pos + 2;
        jumped = true;
        pos = target;
        continue;
      }
      if ((len & 0xc0) !== 0) throw new DnsFormatError(`unsupported label type 0x${len.toString(16)}`);
      if (len === 0) {
        if (!jumped) this.offset = pos + 1;
        break;
      }
      wireLength += len + 1;
      if (wireLength > 255) throw new DnsFormatError("name over 255 bytes");
      if (pos + 1 + len > this.bytes.length) throw new DnsFormatError("label truncated");
      labels.push(utf8.decode(this.bytes.subarray(pos + 1, pos + 1 + len)));
      pos += 1 + len;
    }
    return labels.length === 0 ? "." : `${labels.join(".")}.`;
  }
}
