import { type DnsMessage, type DnsQuestion, type DnsRecord, fqdn, typeCode } from "./dns-types.js";
import { ipv4ToBytes, ipv6ToBytes } from "./ip.js";

/** Options for {@link encodeMessage}. */
export interface EncodeOptions {
  /**
   * Compress owner names and PTR targets with pointers to earlier names (RFC 1035 §4.1.4), as Go's
   * responder does. SRV targets are never compressed (RFC 2782). Default true.
   */
  compress?: boolean | undefined;
}

const MAX_MESSAGE = 65_535;
const utf8 = new TextEncoder();

/**
 * The wire bytes of a DNS message. Throws `RangeError` for what DNS cannot carry: a label over 63
 * bytes, an empty label, a name over 255 bytes, a TXT string over 255 bytes, an invalid address,
 * a number out of its field's range, or a message over 65,535 bytes.
 */
export function encodeMessage(message: DnsMessage, options: EncodeOptions = {}): Uint8Array {
  const w = new Writer(options.compress ?? true);
  w.u16(message.id);
  w.u16(message.flags);
  w.u16(message.questions.length);
  w.u16(message.answers.length);
  w.u16(message.authorities.length);
  w.u16(message.additionals.length);
  for (const q of message.questions) writeQuestion(w, q);
  for (const r of message.answers) writeRecord(w, r);
  for (const r of message.authorities) writeRecord(w, r);
  for (const r of message.additionals) writeRecord(w, r);
  return w.bytes();
}

function writeQuestion(w: Writer, q: DnsQuestion): void {
  w.name(q.name, true);
  w.u16(q.type);
  w.u16(q.class);
}

function writeRecord(w: Writer, r: DnsRecord): void {
  w.name(r.name, true);
  w.u16(typeCode(r));
  w.u16(r.class ?? 1);
  w.u32(r.ttl);
  const lengthAt = w.reserve(2);
  const start = w.length;
  switch (r.type) {
    case "A":
      w.raw(ipv4ToBytes(r.address));
      break;
    case "AAAA":
      w.raw(ipv6ToBytes(r.address));
      break;
    case "PTR":
      w.name(r.target, true);
      break;
    case "SRV":
      w.u16(r.priority);
      w.u16(r.weight);
      w.u16(r.port);
      w.name(r.target, false);
      break;
    case "TXT":
      for (const s of r.strings) {
        if (s.length > 255) throw new RangeError(`TXT string of ${s.length} bytes (max 255)`);
        w.u8(s.length);
        w.raw(s);
      }
      break;
    case "UNKNOWN":
      w.raw(r.rdata);
      break;
  }
  const rdlength = w.length - start;
  if (rdlength > 0xffff) throw new RangeError(`rdata of ${rdlength} bytes (max 65535)`);
  w.patchU16(lengthAt, rdlength);
}

/** A growable big-endian byte writer with a name-compression table. */
class Writer {
  private buf = new Uint8Array(512);
  length = 0;
  private readonly names = new Map<string, number>();

  constructor(private readonly compress: boolean) {}

  private ensure(n: number): void {
    const need = this.length + n;
    if (need > MAX_MESSAGE) throw new RangeError(`DNS message over ${MAX_MESSAGE} bytes`);
    if (need <= this.buf.length) return;
    const next = new Uint8Array(Math.min(MAX_MESSAGE, Math.max(need, this.buf.length * 2)));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }
  u8(v: number): void {
    this.ensure(1);
    this.buf[this.length++] = v;
  }
  u16(v: number): void {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new RangeError(`not a 16-bit value: ${v}`);
    this.ensure(2);
    this.buf[this.length++] = v >> 8;
    this.buf[this.length++] = v & 0xff;
  }
  u32(v: number): void {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`not a 32-bit value: ${v}`);
    this.u16(Math.floor(v / 0x10000));
    this.u16(v % 0x10000);
  }
  raw(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }
  reserve(n: number): number {
    this.ensure(n);
    const at = this.length;
    this.length += n;
    return at;
  }
  patchU16(at: number, v: number): void {
    this.buf[at] = v >> 8;
    this.buf[at + 1] = v & 0xff;
  }
  /** Writes a domain name, ending in a pointer to an earlier copy of its longest known suffix. */
  name(name: string, mayCompress: boolean): void {
    const full = fqdn(name);
    const labels = full === "." ? [] : full.slice(0, -1).split(".");
    const encoded = labels.map((l) => {
      if (l === "") throw new RangeError(`empty label in name ${JSON.stringify(name)}`);
      const b = utf8.encode(l);
      if (b.length > 63) throw new RangeError(`label of ${b.length} bytes (max 63) in ${name}`);
      return b;
    });
    const wireLength = encoded.reduce((n, b) => n + b.length + 1, 1);
    if (wireLength > 255) throw new RangeError(`name of ${wireLength} bytes (max 255): ${name}`);
    for (let i = 0; i < labels.length; i++) {
      // Exact-case keys: a pointer must not change the case of the name it stands for.
      const suffix = labels.slice(i).join(".");
      const pointer = this.compress ? this.names.get(suffix) : undefined;
      if (mayCompress && pointer !== undefined) {
        this.u16(0xc000 | pointer);
        return;
      }
      if (this.compress && this.length < 0x4000 && !this.names.has(suffix))
        this.names.set(suffix, this.length);
      const label = encoded[i] as Uint8Array;
      this.u8(label.length);
      this.raw(label);
    }
    this.u8(0);
  }
  bytes(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}
