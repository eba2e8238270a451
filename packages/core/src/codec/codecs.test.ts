import assert from "node:assert/strict";
import { test } from "node:test";
import { codecContract } from "@microts/testing";
import { createBytesCodec } from "./bytes-codec.js";
import { createJsonCodec } from "./json-codec.js";

codecContract("json", {
  codec: createJsonCodec(),
  samples: [
    { name: "Alice" },
    { greeting: "héllo wörld ✓ 世界 🚀", escaped: "<script>a && b</script>", quote: '"\\' },
    { nested: { deeper: { list: [1, 2, { x: null }] } }, empty: {}, none: [] },
    [1, "two", true, null, { three: 3 }],
    { int: 42, negative: -7, float: 3.25, big: 9007199254740991, tiny: 1e-7 },
    { yes: true, no: false, nothing: null },
    "a string with <>& and \u2028 line separators",
    12.5,
    true,
    null,
  ],
  invalid: [new TextEncoder().encode("{"), Uint8Array.of(0xff, 0xfe), new TextEncoder().encode('{"a":}')],
  zero: {},
});

codecContract("bytes", {
  codec: createBytesCodec(),
  samples: [
    new Uint8Array(0),
    Uint8Array.of(0),
    Uint8Array.of(0xff, 0xfe, 0x00, 0x80),
    new Uint8Array(4096).fill(7),
  ],
  zero: new Uint8Array(0),
});

test("json codec writes Go's encoding/json bytes: compact, trailing newline", () => {
  const bytes = createJsonCodec().marshal({ name: "Alice" });
  assert.equal(Buffer.from(bytes).toString("utf8"), '{"name":"Alice"}\n');
});

test("json codec escapes < > & as Go does when asked, and reads both forms alike", () => {
  const go = createJsonCodec({ escapeHtml: true });
  assert.equal(Buffer.from(go.marshal("a<b")).toString("utf8"), '"a\\u003cb"\n');
  assert.equal(Buffer.from(go.marshal({ h: "x>y&z" })).toString("utf8"), '{"h":"x\\u003ey\\u0026z"}\n');
  const plain = createJsonCodec();
  assert.equal(Buffer.from(plain.marshal({ h: "x>y&z" })).toString("utf8"), '{"h":"x>y&z"}\n');
  assert.deepEqual(plain.unmarshal(go.marshal({ h: "x>y&z" })), { h: "x>y&z" });
});

test("json codec: values with long strings are written byte for byte as JSON.stringify writes them", () => {
  const long = "x".repeat(300);
  class Point {
    constructor(
      readonly x: number,
      readonly label: string,
    ) {}
  }
  const nullProto = Object.assign(Object.create(null) as Record<string, unknown>, { s: long, n: 1 });
  const values: unknown[] = [
    long,
    { data: long },
    { data: long, n: -0, big: 1e21, nan: Number.NaN, inf: -Infinity, t: true, f: false, z: null },
    { data: long, skip: undefined, fn: () => 1, sym: Symbol("s"), [Symbol("k")]: 1 },
    [long, undefined, () => 1, Symbol("s"), null, 2.5],
    { nested: { list: [{ data: long }, 'short "quoted"', { deep: [long, []] }], empty: {} } },
    { 'key "with" \\ quotes\n': long, "": long, über: long },
    { quote: `${long}"`, backslash: `${long}\\`, control: `${long}\u0001`, tab: `${long}\t` },
    { emoji: `${long}🚀`, lone: `${long}\ud800`, tail: `${long}\udfff!`, bmp: `${long}é世\u2028` },
    { date: new Date(0), data: long },
    { point: new Point(1, long) },
    { custom: { toJSON: () => long }, data: long },
    { boxed: new String(long) },
    nullProto,
    // biome-ignore lint/suspicious/noSparseArray: a hole is written as null
    [long, , long],
    { ["__proto__"]: long },
  ];
  const codec = createJsonCodec();
  for (const v of values) {
    const text = Buffer.from(codec.marshal(v)).toString("utf8");
    assert.equal(text, `${JSON.stringify(v)}\n`, `for ${String(JSON.stringify(v)).slice(0, 60)}`);
  }
  const go = createJsonCodec({ escapeHtml: true });
  assert.equal(
    Buffer.from(go.marshal({ h: `${long}<&>` })).toString("utf8"),
    `{"h":"${long}\\u003c\\u0026\\u003e"}\n`,
  );
});

test("json codec: strings of 1 KiB and more are written as JSON.stringify writes them, whatever they hold where", () => {
  // From 1,024 UTF-16 units on, the codec looks for each character JSON escapes by itself.
  const codec = createJsonCodec({ trailingNewline: false });
  const specials = [
    ...Array.from({ length: 0x20 }, (_, i) => String.fromCharCode(i)),
    '"',
    "\\",
    "\ud800",
    "\udfff",
    "\ud83d\ude80",
    "\u2028",
    "é",
    "世",
    "\u0122", // its low byte is a quote
    "\u015c", // its low byte is a backslash
    "\u0101",
    "\u007f",
  ];
  for (const size of [1023, 1024, 4096, 65536]) {
    const base = "y".repeat(size);
    assert.equal(Buffer.from(codec.marshal({ data: base })).toString("utf8"), JSON.stringify({ data: base }));
    for (const c of specials) {
      for (const at of [0, 1, size >> 1, size - 1, size]) {
        const s = base.slice(0, at) + c + base.slice(at);
        const text = Buffer.from(codec.marshal({ data: s })).toString("utf8");
        assert.equal(text, JSON.stringify({ data: s }), `${JSON.stringify(c)} at ${at} of ${size}`);
      }
    }
  }
});
