import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { DnsFormatError, decodeMessage, tryDecodeMessage } from "./dns-decode.js";
import { encodeMessage } from "./dns-encode.js";
import type { DnsMessage, DnsRecord } from "./dns-types.js";
import { Flag } from "./dns-types.js";
import { ipv6FromBytes, ipv6ToBytes } from "./ip.js";

const label = fc.stringMatching(/^[a-zA-Z0-9_][a-zA-Z0-9_-]{0,19}$/);
const name = fc.array(label, { minLength: 1, maxLength: 4 }).map((ls) => `${ls.join(".")}.`);
const u16 = fc.integer({ min: 0, max: 0xffff });
const ttl = fc.integer({ min: 0, max: 0xffffffff });
const ipv4 = fc.ipV4();
const ipv6 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map(ipv6FromBytes);
const head = { name, class: u16, ttl };

const record: fc.Arbitrary<DnsRecord> = fc.oneof(
  fc.record({ ...head, type: fc.constant("A" as const), address: ipv4 }),
  fc.record({ ...head, type: fc.constant("AAAA" as const), address: ipv6 }),
  fc.record({ ...head, type: fc.constant("PTR" as const), target: name }),
  fc.record({
    ...head,
    type: fc.constant("SRV" as const),
    priority: u16,
    weight: u16,
    port: u16,
    target: name,
  }),
  fc.record({
    ...head,
    type: fc.constant("TXT" as const),
    strings: fc.array(fc.uint8Array({ maxLength: 255 }), { maxLength: 5 }),
  }),
  fc.record({
    ...head,
    type: fc.constant("UNKNOWN" as const),
    code: u16.filter((c) => ![1, 12, 16, 28, 33].includes(c)),
    rdata: fc.uint8Array({ maxLength: 40 }),
  }),
);

const message: fc.Arbitrary<DnsMessage> = fc.record({
  id: u16,
  flags: u16,
  questions: fc.array(fc.record({ name, type: u16, class: u16 }), { maxLength: 3 }),
  answers: fc.array(record, { maxLength: 6 }),
  authorities: fc.array(record, { maxLength: 3 }),
  additionals: fc.array(record, { maxLength: 3 }),
});

/** Only DnsFormatError may escape the decoder. */
function decodesOrFormatError(bytes: Uint8Array): void {
  try {
    decodeMessage(bytes);
  } catch (err) {
    assert.ok(err instanceof DnsFormatError, `unexpected ${String(err)}`);
  }
}

describe("dns codec", () => {
  test("encode → decode round-trips random messages, with and without compression", () => {
    fc.assert(
      fc.property(message, fc.boolean(), (m, compress) => {
        // structuredClone: fast-check builds null-prototype objects, the decoder plain ones.
        assert.deepEqual(decodeMessage(encodeMessage(m, { compress })), structuredClone(m));
      }),
      { numRuns: 500 },
    );
  });

  test("compression never makes a message longer and shares repeated suffixes", () => {
    fc.assert(
      fc.property(message, (m) => {
        assert.ok(encodeMessage(m).length <= encodeMessage(m, { compress: false }).length);
      }),
      { numRuns: 200 },
    );
    const m: DnsMessage = {
      id: 0,
      flags: Flag.Response,
      questions: [{ name: "greeter.micro.", type: 12, class: 1 }],
      answers: [{ name: "greeter.micro.", type: "PTR", ttl: 120, target: "n1.greeter.micro." }],
      authorities: [],
      additionals: [],
    };
    const bytes = encodeMessage(m);
    // Header 12 + question (15 + 4) + answer owner pointer 2 + 10 + PTR "n1" + pointer = 4.
    assert.equal(bytes.length, 12 + 19 + 2 + 10 + 5);
    assert.deepEqual([...bytes.subarray(31, 33)], [0xc0, 12], "owner name points at the question");
  });

  test("random bytes never throw anything but DnsFormatError", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), decodesOrFormatError), { numRuns: 3000 });
  });

  test("mutated and truncated valid messages never throw anything but DnsFormatError", () => {
    fc.assert(
      fc.property(
        message,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
        fc.nat(),
        (m, flips, cut) => {
          const bytes = encodeMessage(m);
          for (const [at, v] of flips) if (bytes.length) bytes[at % bytes.length] = v;
          decodesOrFormatError(bytes);
          decodesOrFormatError(bytes.subarray(0, cut % (bytes.length + 1)));
        },
      ),
      { numRuns: 2000 },
    );
  });

  test("compression pointer loops and forward pointers are rejected", () => {
    // Header with one question whose name is a pointer to itself (offset 12).
    const self = Uint8Array.from([0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1]);
    assert.throws(() => decodeMessage(self), DnsFormatError);
    const forward = Uint8Array.from([0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 16, 0, 1, 0, 1, 0]);
    assert.throws(() => decodeMessage(forward), DnsFormatError);
    assert.equal(tryDecodeMessage(self), undefined);
  });

  test("huge section counts in a tiny packet are rejected at once", () => {
    const bomb = Uint8Array.from([0, 0, 0x84, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    assert.throws(() => decodeMessage(bomb), DnsFormatError);
  });

  test("encoder refuses what DNS cannot carry", () => {
    const base = { id: 0, flags: 0, answers: [], authorities: [], additionals: [] };
    const q = (n: string) => ({ ...base, questions: [{ name: n, type: 12, class: 1 }] });
    assert.throws(() => encodeMessage(q(`${"a".repeat(64)}.micro.`)), RangeError);
    assert.throws(() => encodeMessage(q("a..micro.")), RangeError);
    assert.throws(() => encodeMessage(q(Array(60).fill("abcd").join("."))), RangeError);
    const txt: DnsRecord = { name: "x.", type: "TXT", ttl: 1, strings: [new Uint8Array(256)] };
    assert.throws(() => encodeMessage({ ...base, questions: [], answers: [txt] }), RangeError);
  });

  test("IPv6 text ↔ bytes follows RFC 5952", () => {
    assert.equal(ipv6FromBytes(ipv6ToBytes("::1")), "::1");
    assert.equal(ipv6FromBytes(ipv6ToBytes("fe80:0:0:0:1:0:0:2")), "fe80::1:0:0:2");
    assert.equal(ipv6FromBytes(ipv6ToBytes("::ffff:10.0.0.1")), "::ffff:a00:1");
    assert.equal(ipv6FromBytes(ipv6ToBytes("2001:db8::")), "2001:db8::");
    assert.equal(ipv6FromBytes(ipv6ToBytes("1:2:3:4:5:6:7:8")), "1:2:3:4:5:6:7:8");
    assert.equal(ipv6FromBytes(new Uint8Array(16)), "::");
  });
});
