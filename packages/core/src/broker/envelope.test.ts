import assert from "node:assert/strict";
import { test } from "node:test";
import {
  decodeMessageEnvelope as decodeEnvelope,
  encodeMessageEnvelope as encodeEnvelope,
} from "./envelope.js";

const enc = new TextEncoder();
const EMPTY_BODY = new Uint8Array(0);
const dec = new TextDecoder();

test("encodes like Go's json.Marshal(broker.Message): byte-sorted keys, HTML escapes, padded base64", () => {
  const out = encodeEnvelope({
    header: { b: "2", A: "1", "10": "x", "9": "y", é: "<tag>&", "Micro-Id": "\u2028" },
    body: Uint8Array.of(0xff, 0x00, 0x01),
  });
  assert.equal(
    dec.decode(out),
    '{"Header":{"10":"x","9":"y","A":"1","Micro-Id":"\\u2028","b":"2","é":"\\u003ctag\\u003e\\u0026"},"Body":"/wAB"}',
  );
});

test("round-trips headers and binary bodies of any length", () => {
  for (const size of [0, 1, 2, 3, 4, 1000]) {
    const body = Uint8Array.from({ length: size }, (_, i) => (i * 7) & 0xff);
    const header = { "Content-Type": "application/octet-stream", x: "ü ✓" };
    const back = decodeEnvelope(encodeEnvelope({ header, body }));
    assert.deepEqual(back.header, header);
    assert.deepEqual([...back.body], [...body]);
  }
});

test("the body is standard padded base64 at every length, short or long, and reads back", () => {
  // Short bodies are coded by a loop, long ones by Node's coder: every length across the switch.
  for (let size = 0; size <= 400; size++) {
    const body = Uint8Array.from({ length: size }, (_, i) => (i * 151 + size) & 0xff);
    const out = encodeEnvelope({ header: { K: "v" }, body });
    const b64 = Buffer.from(body).toString("base64");
    assert.equal(dec.decode(out), `{"Header":{"K":"v"},"Body":"${b64}"}`, `size ${size}`);
    assert.deepEqual(Buffer.from(decodeEnvelope(out).body), Buffer.from(body), `size ${size}`);
  }
});

test("a body that is not standard base64 is refused, short or long", () => {
  const wrap = (b64: string) => enc.encode(`{"Header":{"K":"v"},"Body":"${b64}"}`);
  for (const n of [4, 400]) {
    const good = "QUJD".repeat(n / 4);
    assert.equal(decodeEnvelope(wrap(good)).body.length, (n / 4) * 3);
    for (const bad of [
      `${good.slice(0, -1)}-`, // URL-safe alphabet
      `${good.slice(0, -1)}_`,
      `${good.slice(0, -1)}*`, // outside any alphabet
      `${good.slice(0, -2)}=A`, // padding before the end
      `${good.slice(0, -4)}A===`,
      `${good}A`, // not a multiple of 4
    ]) {
      assert.throws(() => decodeEnvelope(wrap(bad)), { name: "MicroError", code: 400 }, bad);
    }
    // An escape is valid JSON: the general path reads it.
    assert.deepEqual(
      decodeEnvelope(wrap(`${good.slice(0, -1)}\\u0044`)).body,
      decodeEnvelope(wrap(good)).body,
    );
  }
  // Bits past the last byte are dropped, as Go's StdEncoding does ("QR==" reads as "QQ==").
  assert.deepEqual([...decodeEnvelope(wrap("QR==")).body], [0x41]);
  assert.deepEqual([...decodeEnvelope(wrap("QUJ=")).body], [0x41, 0x42]);
});

test("header names are read right when many differ: names of one length, more than are remembered", () => {
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 100; i++) {
      const name = `X-${String(i).padStart(3, "0")}`; // all five characters long
      const header = { [name]: `v${i}`, "Content-Type": "application/json" };
      const back = decodeEnvelope(encodeEnvelope({ header, body: Uint8Array.of(i) }));
      assert.deepEqual(back.header, header);
      assert.deepEqual(Object.keys(back.header), Object.keys(header).sort());
    }
  }
});

test("names and values read before are matched whole: a prefix of one, or one with more, is another", () => {
  const seq: Record<string, string>[] = [
    { K: "v" },
    { K: "vv" },
    { KK: "v" },
    { K: "v", KK: "vv" },
    { K: "" },
    { K: "v" },
    { "K-": "v-" },
    { K: "w" },
  ];
  for (let round = 0; round < 2; round++) {
    for (const header of seq) {
      const back = decodeEnvelope(encodeEnvelope({ header, body: Uint8Array.of(7) }));
      assert.deepEqual(back.header, header);
    }
  }
  // Names and values too long to be remembered are read every time.
  const long = { ["N".repeat(300)]: "v".repeat(300), K: "x".repeat(300) };
  for (let round = 0; round < 2; round++) {
    assert.deepEqual(decodeEnvelope(encodeEnvelope({ header: long, body: EMPTY_BODY })).header, long);
  }
  // A name read before, then no colon: the general path refuses it.
  assert.throws(() => decodeEnvelope(enc.encode('{"Header":{"K","v"},"Body":""}')), { code: 400 });
  assert.throws(() => decodeEnvelope(enc.encode('{"Header":{"K":"v","Body":""}')), { code: 400 });
});

test("a body view into a larger buffer encodes only its own bytes", () => {
  const big = Uint8Array.of(9, 9, 1, 2, 3, 9);
  const view = big.subarray(2, 5);
  assert.match(dec.decode(encodeEnvelope({ header: {}, body: view })), /"Body":"AQID"/);
});

test("decodes Go's nil map and nil slice (null) as empty", () => {
  const e = decodeEnvelope(enc.encode('{"Header":null,"Body":null}'));
  assert.deepEqual(e.header, {});
  assert.equal(e.body.byteLength, 0);
  assert.deepEqual(decodeEnvelope(enc.encode("{}")).header, {});
});

test("rejects what is not an envelope", () => {
  for (const bad of [
    "",
    "nope",
    "[]",
    "null",
    '"str"',
    '{"Header":[]}',
    '{"Header":{"a":1}}',
    '{"Body":5}',
    '{"Body":"a"}',
    '{"Body":"@@@@"}',
    '{"Body":"A==="}',
  ]) {
    assert.throws(() => decodeEnvelope(enc.encode(bad)), { name: "MicroError", code: 400 }, bad);
  }
});

test("field names match case-insensitively and __proto__ headers stay plain data (Go's decoder)", () => {
  const e = decodeEnvelope('{"header":{"X":"1","__proto__":"p"},"body":null}');
  assert.equal(e.header.X, "1");
  assert.equal(Object.getOwnPropertyDescriptor(e.header, "__proto__")?.value, "p");
  assert.equal(Object.getPrototypeOf(e.header), Object.prototype);
});

test("the canonical form and any other spelling of one envelope decode alike", () => {
  const canonical = '{"Header":{"A":"1","b":"é ✓","__proto__":"p"},"Body":"/wAB"}';
  const others = [
    '{ "Header": { "A": "1", "b": "\\u00e9 \\u2713", "__proto__": "p" }, "Body": "/wAB" }',
    '{"Body":"/wAB","Header":{"A":"1","b":"é ✓","__proto__":"p"}}',
    '{"header":{"A":"1","b":"é ✓","__proto__":"p"},"body":"/wAB"}\n',
  ];
  const want = decodeEnvelope(canonical);
  assert.deepEqual(Object.entries(want.header), [
    ["A", "1"],
    ["b", "é ✓"],
    ["__proto__", "p"],
  ]);
  assert.deepEqual([...want.body], [0xff, 0x00, 0x01]);
  for (const text of others) {
    const got = decodeEnvelope(enc.encode(text));
    assert.deepEqual(Object.entries(got.header), Object.entries(want.header), text);
    assert.deepEqual([...got.body], [...want.body], text);
  }
  // Canonical in shape but not valid: the general path reports it.
  assert.throws(() => decodeEnvelope('{"Header":{},"Body":"@@@@"}'), { name: "MicroError", code: 400 });
  assert.throws(() => decodeEnvelope('{"Header":{"a":"1"},"Body":"AA=="}x'), {
    name: "MicroError",
    code: 400,
  });
});

test("a header sent again is written as it is now: changed in place, with keys added, inherited keys left out", () => {
  const header: Record<string, string> = { "Content-Type": "application/json" };
  const body = enc.encode("{}");
  const text = (h: Record<string, string>) => dec.decode(encodeEnvelope({ header: h, body }));
  assert.equal(text(header), '{"Header":{"Content-Type":"application/json"},"Body":"e30="}');
  header["Content-Type"] = "text/plain"; // the same object, changed in place
  assert.equal(text(header), '{"Header":{"Content-Type":"text/plain"},"Body":"e30="}');
  header["Micro-Id"] = "7";
  assert.equal(text(header), '{"Header":{"Content-Type":"text/plain","Micro-Id":"7"},"Body":"e30="}');
  assert.equal(text({ "Micro-Id": "7", "Content-Type": "text/plain" }), text(header));
  assert.equal(
    text({ "Content-Type": "text/plain" }),
    '{"Header":{"Content-Type":"text/plain"},"Body":"e30="}',
  );
  assert.equal(text({}), '{"Header":{},"Body":"e30="}');
  const inherited = Object.create({ "Content-Type": "text/plain" }) as Record<string, string>;
  assert.equal(text(inherited), '{"Header":{},"Body":"e30="}');
});

test("envelopes with the same header text decode to headers of their own", () => {
  const a = decodeEnvelope(enc.encode('{"Header":{"K":"v"},"Body":"AQ=="}'));
  const b = decodeEnvelope(enc.encode('{"Header":{"K":"v"},"Body":"AgM="}'));
  assert.deepEqual([...b.body], [2, 3]);
  assert.notEqual(a.header, b.header);
  a.header.K = "changed";
  assert.deepEqual(b.header, { K: "v" });
  assert.deepEqual(decodeEnvelope(enc.encode('{"Header":{"K":"v"},"Body":"AQ=="}')).header, { K: "v" });
  // The same header text followed by a body that is not base64, or no closing: still refused.
  assert.throws(() => decodeEnvelope(enc.encode('{"Header":{"K":"v"},"Body":"A-=="}')), { code: 400 });
  assert.throws(() => decodeEnvelope(enc.encode('{"Header":{"K":"v"},"Body":"AQ==')), { code: 400 });
  assert.deepEqual(decodeEnvelope(enc.encode('{"Header":{"K":"v","L":"w"},"Body":""}')).header, {
    K: "v",
    L: "w",
  });
});
