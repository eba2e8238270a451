import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { isMicroError } from "@microts/core";
import fc from "fast-check";
import { decodeFrame, encodeFrame, isFrame } from "./frame.js";

const enc = new TextEncoder();

describe("binary frame", () => {
  test("round-trips headers (any UTF-8, empty values, __proto__) and the body", () => {
    const header: Record<string, string> = {
      "Micro-Id": "7",
      "Content-Type": "application/json",
      ü: "日本😀",
      e: "",
    };
    Object.defineProperty(header, "__proto__", { value: "x", enumerable: true });
    const body = enc.encode('{"data":"hi"}');
    const f = encodeFrame({ header, body });
    assert.ok(isFrame(f));
    const m = decodeFrame(f);
    assert.deepEqual(Object.entries(m.header), Object.entries(header));
    assert.equal(Object.getPrototypeOf(m.header), Object.prototype, "__proto__ stays an own key");
    assert.deepEqual(new Uint8Array(m.body), body);
  });

  test("an empty message is the prefix and {}", () => {
    const f = encodeFrame({ header: {}, body: new Uint8Array(0) });
    assert.deepEqual([...f], [0, 1, 0, 0, 0, 2, 0x7b, 0x7d]);
    const m = decodeFrame(f);
    assert.deepEqual(m.header, {});
    assert.equal(m.body.byteLength, 0);
  });

  test("a Go JSON envelope is not a frame", () => {
    assert.equal(isFrame(enc.encode('{"Header":{},"Body":""}')), false);
    assert.equal(isFrame(new Uint8Array(0)), false);
  });

  test("truncated frames, unknown versions and headers that are not objects of strings fail with 400", () => {
    const good = encodeFrame({ header: { a: "b" }, body: enc.encode("xyz") });
    const frame = (version: number, header: string) =>
      Uint8Array.from([0, version, 0, 0, 0, header.length, ...enc.encode(header)]);
    const bad = [
      good.subarray(0, 3),
      good.subarray(0, 8),
      frame(2, "{}"),
      Uint8Array.from([0, 1, 0xff, 0xff, 0xff, 0xff, 0x7b, 0x7d]),
      frame(1, "{"),
      frame(1, "[]"),
      frame(1, "null"),
      frame(1, '{"a":1}'),
      frame(1, '{"a":{"b":"c"}}'),
    ];
    for (const b of bad)
      assert.throws(
        () => decodeFrame(b),
        (e: unknown) => isMicroError(e, 400),
        `${[...b]}`,
      );
  });

  test("the body of a decoded frame is a view of the frame, not a copy", () => {
    const f = encodeFrame({ header: { k: "v" }, body: enc.encode("body") });
    const m = decodeFrame(f);
    assert.equal(m.body.buffer, f.buffer);
  });

  test("fuzz: any header and body round-trip; any bytes decode or fail with 400", () => {
    const header = fc.dictionary(fc.string({ unit: "binary" }), fc.string({ unit: "binary" }), {
      maxKeys: 6,
    });
    fc.assert(
      fc.property(header, fc.uint8Array({ maxLength: 200 }), (h, body) => {
        const m = decodeFrame(encodeFrame({ header: h, body }));
        assert.deepEqual(m.header, JSON.parse(JSON.stringify(h)));
        assert.deepEqual(new Uint8Array(m.body), body);
      }),
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const framed = Uint8Array.from([0, 1, ...bytes]);
        try {
          decodeFrame(framed);
        } catch (e) {
          assert.ok(isMicroError(e, 400), String(e));
        }
      }),
    );
  });

  test("a header block any JSON writer made reads as JSON.parse reads it, on either path", () => {
    // Printable ASCII with the characters that need escapes (or that Go escapes) mixed in, so
    // that headers take the byte path and the JSON.parse path; spaces in the text force the latter.
    const text = fc.string({
      unit: fc.constantFrom("a", "Z", "-", " ", "<", ">", "&", '"', "\\", "é", "\n"),
    });
    const header = fc.dictionary(text, text, { maxKeys: 8 });
    fc.assert(
      fc.property(header, fc.boolean(), (h, spaced) => {
        const json = JSON.stringify(h, null, spaced ? 1 : undefined);
        const block = enc.encode(json);
        const framed = Uint8Array.from([0, 1, 0, 0, 0, 0, ...block, 0x78]);
        new DataView(framed.buffer).setUint32(2, block.length);
        const m = decodeFrame(framed);
        assert.deepEqual(Object.entries(m.header), Object.entries(JSON.parse(json)));
        assert.deepEqual([...m.body], [0x78]);
      }),
    );
  });

  test("a header block that is not one whole object fails with 400, even if the body completes it", () => {
    const trailing = enc.encode('{"a":"b"}x');
    const cut = enc.encode('{"a":"b"'); // its body, below, starts with the missing brace
    for (const framed of [
      Uint8Array.from([0, 1, 0, 0, 0, trailing.length, ...trailing]),
      Uint8Array.from([0, 1, 0, 0, 0, cut.length, ...cut, 0x7d]),
      Uint8Array.from([0, 1, 0, 0, 0, 5, ...enc.encode('{"a":"b"}')]),
    ]) {
      assert.throws(
        () => decodeFrame(framed),
        (e: unknown) => isMicroError(e, 400),
        `${[...framed]}`,
      );
    }
  });
});
