import assert from "node:assert/strict";
import { test } from "node:test";
import { IdSequence } from "./id-sequence.js";

test("IdSequence: the decimal texts of 0, 1, 2, ... as String() writes them", () => {
  const ids = new IdSequence();
  for (let n = 0; n < 1_203_000; n++) {
    const id = ids.take();
    if (id !== String(n)) assert.fail(`id ${n}: ${id}`);
  }
});
