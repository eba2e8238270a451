import assert from "node:assert/strict";
import { test } from "node:test";
import { Metadata } from "./metadata.js";

test("lookups ignore case and keep the first spelling", () => {
  const md = new Metadata({ Authorization: "Bearer x" });
  assert.equal(md.get("authorization"), "Bearer x");
  assert.equal(md.get("AUTHORIZATION"), "Bearer x");
  md.set("authorization", "Bearer y");
  assert.deepEqual(md.toRecord(), { Authorization: "Bearer y" });
});

test("merge without overwrite keeps existing keys", () => {
  const md = new Metadata({ A: "1" }).merge({ a: "2", B: "3" }, false);
  assert.deepEqual(md.toRecord(), { A: "1", B: "3" });
  md.merge(new Metadata({ b: "4" }));
  assert.equal(md.get("B"), "4");
  assert.equal(md.size, 2);
  assert.equal(md.delete("b"), true);
  assert.equal(md.has("B"), false);
});

test("from() copies", () => {
  const a = new Metadata({ X: "1" });
  const b = Metadata.from(a);
  b.set("x", "2");
  assert.equal(a.get("x"), "1");
  assert.deepEqual([...Metadata.from([["K", "v"]])], [["K", "v"]]);
});
