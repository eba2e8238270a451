import assert from "node:assert/strict";
import { test } from "node:test";
import { MicroError } from "@microts/core";
import fc from "fast-check";
import { HeaderDecoder, HeaderEncoder, MAX_PAIRS, MAX_TABLE_STRING, Op } from "./frame.js";

/** Encodes `header` and decodes the block on the other side, as a connection does. */
function roundTrip(enc: HeaderEncoder, dec: HeaderDecoder, header: Record<string, string>) {
  const n = enc.encode(header, 1 << 20);
  const block = Buffer.from(HeaderEncoder.buffer.subarray(enc.start, enc.start + n));
  const got = dec.decode(block, 0, block.length);
  assert.equal(dec.end, block.length, "the decoder stops where the block ends");
  return { got, bytes: n };
}

const text = fc.string({ unit: "grapheme", maxLength: 40 });

test("any sequence of headers decodes exactly as sent, with repeats and changes mixed", () => {
  // Names and values come from small pools, so that they repeat (and get indexed) and change.
  const names = fc.constantFrom("Micro-Id", "Content-Type", "X-A", "x-a", "ünï", "", "__proto__", "X-Z");
  const header = fc.dictionary(fc.oneof(names, text), fc.oneof(fc.constantFrom("1", "json", ""), text), {
    maxKeys: 12,
  });
  fc.assert(
    fc.property(fc.array(header, { minLength: 1, maxLength: 40 }), (messages) => {
      const enc = new HeaderEncoder();
      const dec = new HeaderDecoder();
      for (const h of messages) {
        const { got } = roundTrip(enc, dec, h);
        assert.deepEqual(Object.entries(got), Object.entries(h));
      }
    }),
  );
});

test("a header that repeats travels as one index byte from its third use", () => {
  const enc = new HeaderEncoder();
  const dec = new HeaderDecoder();
  const h = { "Content-Type": "application/json", "Micro-Service": "greeter", "X-Custom": "v" };
  const first = roundTrip(enc, dec, h).bytes;
  const second = roundTrip(enc, dec, h).bytes;
  const third = roundTrip(enc, dec, h).bytes;
  assert.ok(second < first, `second ${second} < first ${first} (names are indexed)`);
  assert.equal(third, 1 + 3 * 2, "count, then op and index per header");
  assert.deepEqual(roundTrip(enc, dec, h).got, h);
});

test("values that never repeat never fill the pair table", () => {
  const enc = new HeaderEncoder();
  const dec = new HeaderDecoder();
  for (let i = 0; i < MAX_PAIRS * 3; i++) roundTrip(enc, dec, { "Micro-Id": String(i), Accept: "a" });
  // The pair table still has room: a new repeating value is indexed from its second use.
  roundTrip(enc, dec, { "X-New": "x" });
  roundTrip(enc, dec, { "X-New": "x" });
  assert.equal(roundTrip(enc, dec, { "X-New": "x" }).bytes, 3);
});

test("a block over the limit is refused with 413 and leaves both tables in step", () => {
  const enc = new HeaderEncoder();
  const dec = new HeaderDecoder();
  roundTrip(enc, dec, { A: "1" });
  assert.throws(
    () => enc.encode({ A: "1", B: "2", Big: "x".repeat(100) }, 64),
    (e: unknown) => e instanceof MicroError && e.code === 413 && /exceeds the limit of 64/.test(e.detail),
  );
  // Had the refused block changed the encoder's tables, these would decode wrongly.
  for (let i = 0; i < 3; i++)
    assert.deepEqual(roundTrip(enc, dec, { A: "1", B: "2" }).got, { A: "1", B: "2" });
});

test("malformed blocks are refused with 400, never read past their end", () => {
  const bad: Array<[string, number[], RegExp]> = [
    ["count larger than the entries", [2, Op.Pair, 0], /run past the frame|unknown header pair/],
    ["unknown op", [1, 9], /unknown header op 9/],
    ["unknown name index", [1, Op.Named, 100, 0], /unknown header name 100/],
    ["unknown pair index", [1, Op.Pair, 0], /unknown header pair 0/],
    ["string past the end", [1, Op.Literal, 5, 65], /runs past the header block/],
    ["varint past the end", [1, Op.Pair, 0x80], /varint runs past/],
    ["varint too large", [1, Op.Pair, 0xff, 0xff, 0xff, 0xff, 0x7f], /varint too large/],
    ["empty", [], /varint runs past/],
  ];
  for (const [what, bytes, detail] of bad) {
    // A byte the decoder must never read follows the block.
    const buf = Buffer.from([...bytes, Op.Pair]);
    assert.throws(
      () => new HeaderDecoder().decode(buf, 0, bytes.length),
      (e: unknown) => e instanceof MicroError && e.code === 400 && detail.test(e.detail),
      what,
    );
  }
});

test("a peer that overflows the pair table is refused", () => {
  const dec = new HeaderDecoder();
  const entries: number[] = [];
  for (let i = 0; i <= MAX_PAIRS; i++) entries.push(Op.NamedAddPair, 0, 1, 65);
  const count = [((MAX_PAIRS + 1) & 0x7f) | 0x80, (MAX_PAIRS + 1) >> 7];
  const buf = Buffer.from([...count, ...entries]);
  assert.throws(
    () => dec.decode(buf, 0, buf.length),
    (e: unknown) => e instanceof MicroError && e.code === 400 && /pair table overflow/.test(e.detail),
  );
});

test("long names and values are never added to the tables, and a peer that adds one is refused", () => {
  const enc = new HeaderEncoder();
  const dec = new HeaderDecoder();
  const long = "n".repeat(MAX_TABLE_STRING + 1);
  const h = { [long]: "v".repeat(MAX_TABLE_STRING + 1) };
  const sizes = [1, 2, 3].map(() => roundTrip(enc, dec, h).bytes);
  assert.deepEqual(roundTrip(enc, dec, h).got, h);
  assert.equal(new Set(sizes).size, 1, "every use costs the same: nothing was indexed");
  const n = MAX_TABLE_STRING + 1;
  const addName = Buffer.from([1, Op.LiteralAddName, (n & 0x7f) | 0x80, n >> 7, ...Buffer.alloc(n, 65), 0]);
  const addPair = Buffer.from([1, Op.NamedAddPair, 0, (n & 0x7f) | 0x80, n >> 7, ...Buffer.alloc(n, 65)]);
  for (const buf of [addName, addPair]) {
    assert.throws(
      () => new HeaderDecoder().decode(buf, 0, buf.length),
      (e: unknown) => e instanceof MicroError && e.code === 400 && /entry too long/.test(e.detail),
    );
  }
});
