import assert from "node:assert/strict";
import { test } from "node:test";
import { Reassembler, splitPayload } from "./chunks.js";

test("payloads that fit are not split; bigger ones are split under max_payload", () => {
  const small = new Uint8Array(100);
  assert.deepEqual(splitPayload(small, 1024 * 1024), [small]);
  const big = Uint8Array.from({ length: 3 * 1024 * 1024 + 5 }, (_, i) => i & 0xff);
  const parts = splitPayload(big, 1024 * 1024);
  assert.equal(parts.length, 4);
  assert.ok(parts.every((p) => p.byteLength <= 1024 * 1024 - 1024));
  const r = new Reassembler();
  let out: Uint8Array | undefined;
  for (const [i, p] of parts.entries()) {
    const res = r.add(`${i + 1}/${parts.length}`, p);
    if (i < parts.length - 1) assert.equal(res.kind, "partial");
    else if (res.kind === "complete") out = res.data;
  }
  assert.ok(out);
  assert.equal(Buffer.compare(Buffer.from(out), Buffer.from(big)), 0);
});

test("out-of-order, malformed and oversized chunk streams are errors, and the next message still works", () => {
  const r = new Reassembler(10);
  assert.equal(r.add("2/2", Uint8Array.of(1)).kind, "error");
  assert.equal(r.add("x", Uint8Array.of(1)).kind, "error");
  assert.equal(r.add("0/1", Uint8Array.of(1)).kind, "error");
  assert.equal(r.add("1/2", new Uint8Array(8)).kind, "partial");
  assert.equal(r.add("2/2", new Uint8Array(8)).kind, "error", "over maxBytes");
  assert.equal(r.add("1/2", Uint8Array.of(1)).kind, "partial");
  assert.equal(r.add("1/2", Uint8Array.of(1)).kind, "partial", "a new first chunk restarts");
  const done = r.add("2/2", Uint8Array.of(2));
  assert.equal(done.kind, "complete");
  if (done.kind === "complete") assert.deepEqual([...done.data], [1, 2]);
});
