import assert from "node:assert/strict";
import { test } from "node:test";
import { strictUtf8Text, utf8Bytes } from "./utf8.js";

const samples = [
  "",
  "plain ascii",
  "héllo wörld ✓ 世界 🚀",
  "lone \ud800 surrogate and \udfff",
  "x".repeat(2048),
  `${"é".repeat(2047)}🚀`,
  "y".repeat(5000),
];

test("utf8Bytes writes what Buffer.from writes, with or without a suffix byte", () => {
  for (const s of samples) {
    assert.deepEqual(utf8Bytes(s, -1), Buffer.from(s, "utf8"), JSON.stringify(s.slice(0, 20)));
    assert.deepEqual(utf8Bytes(s, 10), Buffer.from(`${s}\n`, "utf8"));
  }
});

test("utf8Bytes: buffers handed out never share bytes, across slab refills", () => {
  const made: Array<[string, Buffer]> = [];
  for (let i = 0; i < 400; i++) {
    const s = `${i}:${"z".repeat(i * 7)}é`;
    made.push([s, utf8Bytes(s, 10)]);
  }
  for (const [s, b] of made) assert.equal(b.toString("utf8"), `${s}\n`);
});

test("strictUtf8Text reads ASCII and UTF-8, and refuses what is not UTF-8", () => {
  // Text with lone surrogates cannot come back from UTF-8 as it was.
  for (const s of samples.filter((x) => !x.startsWith("lone"))) {
    assert.equal(strictUtf8Text(Buffer.from(s, "utf8")), s);
    assert.equal(strictUtf8Text(new Uint8Array(Buffer.from(s, "utf8"))), s);
  }
  assert.equal(strictUtf8Text(Uint8Array.of(0x61, 0xff, 0x62)), undefined);
  assert.equal(strictUtf8Text(Uint8Array.of(0xe2, 0x82)), undefined);
});
