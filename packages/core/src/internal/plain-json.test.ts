import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { plainObjectLength, readPlainObject, writePlainObject } from "./plain-json.js";

/** Printable ASCII that Go writes as it is: no `"`, `\`, `<`, `>` or `&`. */
const plain = fc.string({
  unit: fc
    .integer({ min: 0x20, max: 0x7e })
    .filter((c) => !'"\\<>&'.includes(String.fromCharCode(c)))
    .map((c) => String.fromCharCode(c)),
  maxLength: 12,
});

function write(header: Record<string, string>): { buf: Buffer; end: number } {
  const keys = Object.keys(header);
  const buf = Buffer.alloc(plainObjectLength(header, keys) + 4, 0x2e);
  return { buf, end: writePlainObject(buf, 2, header, keys) };
}

test("plain headers are written byte for byte as JSON.stringify writes them, and read back", () => {
  fc.assert(
    fc.property(fc.dictionary(plain, plain, { maxKeys: 8 }), (h) => {
      const { buf, end } = write(h);
      const json = JSON.stringify(h);
      assert.equal(end, 2 + json.length, "the length computed beforehand is the length written");
      assert.equal(buf.toString("latin1", 2, end), json);
      const back: Record<string, string> = {};
      assert.equal(readPlainObject(back, buf, 2), end);
      assert.deepEqual(Object.entries(back), Object.entries(h));
    }),
  );
});

test("a string that needs an escape or is not ASCII makes the writer give up", () => {
  for (const bad of ['a"b', "a\\b", "a<b", "é", "\n", "\u007f"]) {
    assert.equal(write({ [bad]: "v" }).end, -1, JSON.stringify(bad));
    assert.equal(write({ k: bad }).end, -1, JSON.stringify(bad));
  }
});

test("the reader gives up on anything but a compact object of plain strings", () => {
  const read = (text: string, limit?: number) =>
    readPlainObject({}, Buffer.from(text, "utf8"), 0, limit ?? Buffer.byteLength(text));
  for (const text of [
    '{"a": "b"}',
    '{"a":1}',
    '{"a":"\\n"}',
    '{"a":"é"}',
    '{"a":"b",}',
    '["a"]',
    '{"a":"b"',
  ]) {
    assert.equal(read(text), -1, text);
  }
  assert.equal(read('{"a":"b"}'), 9);
  assert.equal(read("{}"), 2);
  // No string is looked for past the limit, even when the bytes after it would complete one, and
  // not when the name and value were read before (and are remembered) either.
  assert.equal(read('{"a":"bcdef"}'), 13);
  assert.equal(read('{"a":"bcdef"}', 8), -1);
  assert.equal(read('{"a":"bcdef"}', 3), -1);
});

test("a repeated name keeps its last value and __proto__ stays an own key, as with JSON.parse", () => {
  const text = '{"a":"1","__proto__":"p","a":"2"}';
  const h: Record<string, string> = {};
  assert.equal(readPlainObject(h, Buffer.from(text), 0), text.length);
  assert.deepEqual(Object.entries(h), Object.entries(JSON.parse(text)));
  assert.equal(Object.getPrototypeOf(h), Object.prototype);
});
