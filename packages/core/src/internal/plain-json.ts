import { Buffer } from "node:buffer";

/**
 * A JSON object of strings (`{"name":"value",...}`, no spaces), as message headers travel in Go's
 * broker envelope and in the NATS transport's frames, written and read on bytes when every
 * string is "plain": printable ASCII that needs no escape. Anything else makes these functions
 * return -1, and the caller takes its general path (JSON.stringify, JSON.parse) instead.
 */

/**
 * Whether Go writes the character `c` of a JSON string as it is: printable ASCII other than `"`,
 * `\` and the `<`, `>`, `&` that Go's HTML-safe encoder escapes. Text made only of these is
 * written byte for byte.
 */
export function plainChar(c: number): boolean {
  return c >= 0x20 && c <= 0x7e && c !== 0x22 && c !== 0x5c && c !== 0x3c && c !== 0x3e && c !== 0x26;
}

/** The byte length of `{"k":"v",...}` for `header` and its `keys`, if every string is plain. */
export function plainObjectLength(header: Record<string, string>, keys: readonly string[]): number {
  let len = 2 + Math.max(keys.length - 1, 0);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as string;
    len += k.length + (header[k] ?? "").length + 5; // "k":"v"
  }
  return len;
}

/**
 * Writes `{"k":"v",...}` for `header`, in the order of `keys`, into `out` at `at`, checking each
 * character as it goes ({@link plainChar}). Returns the offset after the `}`, or -1 as soon as a
 * string is not plain; what was written is then to be discarded. `out` must have room for
 * {@link plainObjectLength} bytes.
 */
export function writePlainObject(
  out: Uint8Array,
  at: number,
  header: Record<string, string>,
  keys: readonly string[],
): number {
  let o = at;
  out[o++] = 0x7b; // {
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as string;
    if (i > 0) out[o++] = 0x2c; // ,
    out[o++] = 0x22;
    o = writePlain(out, o, k);
    if (o < 0) return -1;
    out[o++] = 0x22;
    out[o++] = 0x3a; // :
    out[o++] = 0x22;
    o = writePlain(out, o, header[k] ?? "");
    if (o < 0) return -1;
    out[o++] = 0x22;
  }
  out[o++] = 0x7d; // }
  return o;
}

/** Writes plain text `s` into `out` at `at`; the offset after it, or -1 when `s` is not plain. */
function writePlain(out: Uint8Array, at: number, s: string): number {
  for (let j = 0; j < s.length; j++) {
    const c = s.charCodeAt(j);
    if (!plainChar(c)) return -1;
    out[at + j] = c;
  }
  return at + s.length;
}

/**
 * Reads the object `{"k":"v",...}` that starts at `buf[at]` into `into`, when it has no spaces and
 * its strings are printable ASCII without escapes (`<`, `>` and `&` are accepted: other writers
 * need not escape them). Returns the offset after the `}`, or -1 for anything else. No string is
 * looked for past `limit` (default: the end of `buf`). A repeated name keeps the last value, as
 * with JSON.parse; `__proto__` becomes an own property.
 */
export function readPlainObject(
  into: Record<string, string>,
  buf: Buffer,
  at: number,
  limit = buf.length,
): number {
  if (buf[at] !== 0x7b) return -1;
  let i = at + 1;
  if (buf[i] === 0x7d) return i + 1;
  for (;;) {
    i = readEntry(into, buf, i, limit);
    if (i < 0) return -1;
    if (buf[i] === 0x7d) return i + 1;
    if (buf[i++] !== 0x2c) return -1;
  }
}

/**
 * Names read lately (the oldest replaced first once there are {@link MAX_NAMES}), and the value
 * each had last, when no longer than {@link MAX_REMEMBERED} characters. A name read again is
 * taken from here: a property key the engine already knows, where a new string would be hashed
 * and interned on every message. A value that repeats (a content type, a topic) is taken from
 * here too; one that changes on every message (an id) costs a comparison that fails within its
 * first few characters. Either is known to be plain text, so bytes equal to one need no other
 * check. The length cap keeps a peer from pinning large strings in memory.
 */
const NAMES: string[] = [];
const LAST_VALUES: Array<string | undefined> = [];
const MAX_NAMES = 32;
const MAX_REMEMBERED = 256;
let nextName = 0;

/** Reads the entry `"name":"value"` whose opening quote is at `at`; the index after it, or -1. */
function readEntry(into: Record<string, string>, buf: Buffer, at: number, limit: number): number {
  let k = 0;
  while (k < NAMES.length && !quotedAt(NAMES[k] as string, buf, at, limit)) k++;
  let name: string;
  if (k < NAMES.length) {
    name = NAMES[k] as string;
  } else {
    const nameEnd = plainStringEnd(buf, at, limit);
    if (nameEnd < 0) return -1;
    name = buf.toString("latin1", at + 1, nameEnd);
    k = -1;
    if (name.length <= MAX_REMEMBERED) {
      k = nextName;
      nextName = (nextName + 1) % MAX_NAMES;
      NAMES[k] = name;
      LAST_VALUES[k] = undefined;
    }
  }
  const valueAt = at + name.length + 3;
  if (buf[valueAt - 1] !== 0x3a) return -1;
  let value = k < 0 ? undefined : LAST_VALUES[k];
  if (value === undefined || !quotedAt(value, buf, valueAt, limit)) {
    const valueEnd = plainStringEnd(buf, valueAt, limit);
    if (valueEnd < 0) return -1;
    value = buf.toString("latin1", valueAt + 1, valueEnd);
    if (k >= 0) LAST_VALUES[k] = value.length <= MAX_REMEMBERED ? value : undefined;
  }
  setOwn(into, name, value);
  return valueAt + value.length + 2;
}

/**
 * Whether `buf` holds the string literal of `s` (quote, its ASCII characters, quote) at `at`,
 * ending before `limit`.
 */
function quotedAt(s: string, buf: Buffer, at: number, limit: number): boolean {
  const close = at + s.length + 1;
  if (close >= limit || buf[at] !== 0x22 || buf[close] !== 0x22) return false;
  for (let j = 0; j < s.length; j++) if (s.charCodeAt(j) !== buf[at + 1 + j]) return false;
  return true;
}

/**
 * The index of the closing quote of the string literal at `d[at]` when it is printable ASCII
 * without escapes and ends before `limit`, or -1.
 */
function plainStringEnd(d: Uint8Array, at: number, limit: number): number {
  if (d[at] !== 0x22) return -1;
  for (let j = at + 1; j < limit; j++) {
    const c = d[j] as number;
    if (c === 0x22) return j;
    if (c < 0x20 || c > 0x7e || c === 0x5c) return -1;
  }
  return -1;
}

/** Sets a key even when it is `__proto__` (a header name is attacker-controlled). */
export function setOwn(o: Record<string, string>, k: string, v: string): void {
  if (k === "__proto__")
    Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else o[k] = v;
}

/** `d` as a Buffer (a view, not a copy), for the byte readers above. */
export function asBuffer(d: Uint8Array): Buffer {
  return d instanceof Buffer ? d : Buffer.from(d.buffer, d.byteOffset, d.byteLength);
}
