import { Code, MicroError } from "@microts/core";
import { HeaderBuilder } from "@microts/core/internal";

/**
 * The micro-ts TCP wire format, version 1.
 *
 * Each side first sends the 8-byte {@link PREFACE}. Then each side sends frames:
 *
 * ```
 * u32 (big-endian)  length of what follows
 * u8                kind: 1 message, 2 error (the sender closes the connection after it)
 * varint            number of header entries (message) | nothing (error)
 * entries           see below (message)
 * bytes             the body (message: the rest of the frame) | UTF-8 MicroError JSON (error)
 * ```
 *
 * A header entry starts with an op byte ({@link Op}); strings are a varint byte length and UTF-8.
 * Each direction of a connection keeps two tables that only grow: header names (starting with
 * {@link STATIC_NAMES}) and name/value pairs. A header that repeats from message to message
 * (`Content-Type: application/json`, `Micro-Service: greeter`) travels as one index byte after
 * its second use, and is read back without decoding a string.
 */
export const PREFACE = Buffer.from("MTCP/1\r\n", "latin1");

/** Frame kinds. */
export const FrameKind = { Message: 1, Error: 2 } as const;

/** Header entry ops. */
export const Op = {
  /** Literal name, literal value. */
  Literal: 0,
  /** Literal name (added to the name table), literal value. */
  LiteralAddName: 1,
  /** Indexed name, literal value. */
  Named: 2,
  /** Indexed name, literal value; the pair is added to the pair table. */
  NamedAddPair: 3,
  /** Indexed pair. */
  Pair: 4,
} as const;

/** Header names both name tables start with (indexes 0…), fixed for version 1. */
export const STATIC_NAMES: readonly string[] = [
  "Micro-Id",
  "Micro-Service",
  "Micro-Method",
  "Micro-Endpoint",
  "Content-Type",
  "Accept",
  "Timeout",
  "Micro-Error",
  "Micro-Stream",
  "Micro-Multiplex",
  "Micro-Topic",
  "Micro-Protocol",
  "Micro-Target",
  "Micro-From-Service",
];

/** Most names a name table holds (static ones included); most pairs a pair table holds. */
export const MAX_NAMES = 256;
export const MAX_PAIRS = 256;
/**
 * Longest name or value (UTF-16 units) a table takes; longer ones always travel as literals, and a
 * peer that adds one is refused. Bounds a connection's tables to about 64 KiB per direction.
 */
export const MAX_TABLE_STRING = 128;
/** Values of one name remembered as seen once, waiting for a second use to be indexed. */
const SEEN_PER_NAME = 64;
/** Bytes of the frame head: length and kind. */
export const FRAME_HEAD = 5;

/**
 * One whole frame of `kind` whose payload is `parts` joined, in a buffer of its own. Messages are
 * written straight into the connection's batch instead; this is for error frames and tests.
 */
export function frameBytes(kind: number, ...parts: Uint8Array[]): Buffer {
  let size = 0;
  for (const p of parts) size += p.length;
  const out = Buffer.allocUnsafe(FRAME_HEAD + size);
  out.writeUInt32BE(1 + size, 0);
  out[4] = kind;
  let at = FRAME_HEAD;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const ID = "go.micro.transport";

interface NameState {
  index: number;
  /** Values sent with this name: their pair index, or -1 for "sent once, not indexed yet". */
  values: Map<string, number> | undefined;
  /**
   * The value of this name last sent as a pair, and its pair index: the next message mostly
   * repeats it (`Content-Type`, `Micro-Service`), and a string comparison then finds it.
   */
  lastValue: string | undefined;
  lastPair: number;
}

/**
 * Encodes header blocks for one direction of a connection. A value is added to the pair table on
 * its second use, so values that never repeat (`Micro-Id`) never fill it.
 */
export class HeaderEncoder {
  private readonly names = new Map<string, NameState>();
  private nameCount = STATIC_NAMES.length;
  private pairCount = 0;
  /**
   * The names of recent blocks by position, and their states. A message like the one before it
   * (a client's requests, a server's replies) finds each name here with one string comparison
   * instead of a `Map` lookup.
   */
  private readonly recentNames: string[] = [];
  private readonly recentStates: NameState[] = [];
  /** Where the last encoded block starts in {@link HeaderEncoder.buffer}. */
  start = 0;

  /** The buffer blocks are encoded into (shared by the process's encoders; valid until the next `encode`). */
  static get buffer(): Buffer {
    return scratch;
  }

  constructor() {
    for (let i = 0; i < STATIC_NAMES.length; i++) {
      this.names.set(STATIC_NAMES[i] as string, newState(i, undefined));
    }
  }

  /**
   * Encodes `header`'s string entries into {@link HeaderEncoder.buffer} from {@link start}; returns
   * the block's length. Throws MicroError 413 when it exceeds `maxBytes`, leaving the tables as
   * they were (the block is not sent, so the peer's tables must not change either).
   */
  encode(header: Record<string, string>, maxBytes: number): number {
    let at = 5; // room for the entry count
    let count = 0;
    let addedNames: string[] | undefined;
    let addedPairs: Array<[NameState, string]> | undefined;
    for (const k in header) {
      const v = header[k];
      if (typeof v !== "string") continue;
      const pos = count++;
      let st =
        pos < this.recentNames.length && this.recentNames[pos] === k ? this.recentStates[pos] : undefined;
      if (st === undefined) {
        st = this.names.get(k);
        if (st !== undefined) this.remember(pos, k, st);
      }
      if (st === undefined) {
        at = ensure(at, 11 + 3 * (k.length + v.length));
        if (this.nameCount < MAX_NAMES && k.length <= MAX_TABLE_STRING) {
          // The value counts as seen once, so that it is indexed on its next use.
          const values = v.length <= MAX_TABLE_STRING ? new Map([[v, -1]]) : undefined;
          const added = newState(this.nameCount++, values);
          this.names.set(k, added);
          this.remember(pos, k, added);
          addedNames ??= [];
          addedNames.push(k);
          scratch[at++] = Op.LiteralAddName;
        } else {
          scratch[at++] = Op.Literal;
        }
        at = writeString(at, k);
        at = writeString(at, v);
        continue;
      }
      const values = st.values;
      const known = v === st.lastValue ? st.lastPair : values?.get(v);
      if (known !== undefined && known >= 0) {
        st.lastValue = v;
        st.lastPair = known;
        at = ensure(at, 6);
        scratch[at++] = Op.Pair;
        at = writeVarint(at, known);
        continue;
      }
      at = ensure(at, 11 + 3 * v.length);
      if (known === -1 && this.pairCount < MAX_PAIRS) {
        st.lastValue = v;
        st.lastPair = this.pairCount;
        (values as Map<string, number>).set(v, this.pairCount++);
        addedPairs ??= [];
        addedPairs.push([st, v]);
        scratch[at++] = Op.NamedAddPair;
      } else {
        if (v.length <= MAX_TABLE_STRING) {
          if (values === undefined) st.values = new Map([[v, -1]]);
          else if (values.size < SEEN_PER_NAME) values.set(v, -1);
        }
        scratch[at++] = Op.Named;
      }
      at = writeVarint(at, st.index);
      at = writeString(at, v);
    }
    if (at - 5 > maxBytes) {
      for (const k of addedNames ?? []) this.names.delete(k);
      this.nameCount -= addedNames?.length ?? 0;
      for (const [st, v] of addedPairs ?? []) {
        st.values?.set(v, -1);
        if (st.lastValue === v) st.lastValue = undefined;
      }
      this.pairCount -= addedPairs?.length ?? 0;
      // What was remembered may name what was just taken back.
      this.recentNames.length = 0;
      throw new MicroError(
        ID,
        `header block of ${at - 5} bytes exceeds the limit of ${maxBytes}`,
        Code.PayloadTooLarge,
      );
    }
    // The count goes right before the entries; the block starts where its varint does.
    const countLen = varintLength(count);
    const start = 5 - countLen;
    writeVarint(start, count);
    this.start = start;
    return at - start;
  }

  private remember(pos: number, name: string, st: NameState): void {
    this.recentNames[pos] = name;
    this.recentStates[pos] = st;
  }
}

function newState(index: number, values: Map<string, number> | undefined): NameState {
  return { index, values, lastValue: undefined, lastPair: -1 };
}

let scratch = Buffer.allocUnsafeSlow(4096);

/** Makes room for `more` bytes from `at` in the scratch buffer; returns `at`. */
function ensure(at: number, more: number): number {
  if (at + more > scratch.length) {
    const grown = Buffer.allocUnsafeSlow(Math.max(scratch.length * 2, at + more));
    scratch.copy(grown, 0, 0, at);
    scratch = grown;
  }
  return at;
}

function varintLength(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5;
}

function writeVarint(at: number, n: number): number {
  while (n >= 0x80) {
    scratch[at++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  scratch[at++] = n;
  return at;
}

/**
 * A varint byte length, then the UTF-8 bytes. The length is written after the bytes, in as many
 * bytes as the longest possible encoding needs (a padded varint, which readers accept).
 */
function writeString(at: number, s: string): number {
  const most = s.length * 3;
  if (most < 0x80) {
    const n = scratch.write(s, at + 1, "utf8");
    scratch[at] = n;
    return at + 1 + n;
  }
  const width = varintLength(most);
  const n = scratch.write(s, at + width, "utf8");
  let v = n;
  for (let i = 0; i < width - 1; i++) {
    scratch[at + i] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  scratch[at + width - 1] = v;
  return at + width + n;
}

/**
 * Decodes header blocks for one direction of a connection, keeping the same tables as the
 * peer's {@link HeaderEncoder}. Malformed input throws MicroError 400.
 */
export class HeaderDecoder {
  private readonly names: string[] = STATIC_NAMES.slice();
  private readonly pairNames: string[] = [];
  private readonly pairValues: string[] = [];
  private readonly header = new HeaderBuilder();
  /** Where the last decoded block ended (the body starts there). */
  end = 0;

  /** Decodes the header block at `buf[start…]`, which must end by `limit`. */
  decode(buf: Buffer, start: number, limit: number): Record<string, string> {
    const header = this.header;
    header.begin();
    let at = start;
    let count = readVarint(buf, at, limit);
    at = varintEnd;
    while (count-- > 0) {
      if (at >= limit) throw malformed("header entries run past the frame");
      const op = buf[at++] as number;
      let name: string;
      let value: string;
      switch (op) {
        case Op.Pair: {
          const i = readVarint(buf, at, limit);
          at = varintEnd;
          if (i >= this.pairNames.length) throw malformed(`unknown header pair ${i}`);
          name = this.pairNames[i] as string;
          value = this.pairValues[i] as string;
          break;
        }
        case Op.Named:
        case Op.NamedAddPair: {
          const i = readVarint(buf, at, limit);
          at = varintEnd;
          if (i >= this.names.length) throw malformed(`unknown header name ${i}`);
          name = this.names[i] as string;
          value = readString(buf, at, limit);
          at = varintEnd;
          if (op === Op.NamedAddPair) {
            if (this.pairNames.length >= MAX_PAIRS) throw malformed("header pair table overflow");
            if (value.length > MAX_TABLE_STRING) throw malformed("header table entry too long");
            this.pairNames.push(name);
            this.pairValues.push(value);
          }
          break;
        }
        case Op.Literal:
        case Op.LiteralAddName: {
          name = readString(buf, at, limit);
          at = varintEnd;
          value = readString(buf, at, limit);
          at = varintEnd;
          if (op === Op.LiteralAddName) {
            if (this.names.length >= MAX_NAMES) throw malformed("header name table overflow");
            if (name.length > MAX_TABLE_STRING) throw malformed("header table entry too long");
            this.names.push(name);
          }
          break;
        }
        default:
          throw malformed(`unknown header op ${op}`);
      }
      header.add(name, value);
    }
    this.end = at;
    return header.build();
  }
}

/** Where the last {@link readVarint} or {@link readString} stopped. */
let varintEnd = 0;

function readVarint(buf: Buffer, at: number, limit: number): number {
  let n = 0;
  let shift = 0;
  for (;;) {
    if (at >= limit) throw malformed("varint runs past the header block");
    const b = buf[at++] as number;
    if (shift === 28) {
      if (b > 0x0f) throw malformed("varint too large");
      n += b * 2 ** 28;
      break;
    }
    n |= (b & 0x7f) << shift;
    if (b < 0x80) break;
    shift += 7;
  }
  varintEnd = at;
  return n;
}

function readString(buf: Buffer, at: number, limit: number): string {
  const len = readVarint(buf, at, limit);
  const from = varintEnd;
  if (len > limit - from) throw malformed("header string runs past the header block");
  varintEnd = from + len;
  return buf.toString("utf8", from, from + len);
}

function malformed(detail: string): MicroError {
  return MicroError.badRequest(ID, `malformed frame: ${detail}`);
}
