import assert from "node:assert/strict";
import { test } from "node:test";
import { fromAmqpHeaders, headerValueToString, toAmqpHeaders } from "./headers.js";

test("AMQP header values become strings", () => {
  assert.equal(headerValueToString("s"), "s");
  assert.equal(headerValueToString(Buffer.from("héllo")), "héllo");
  assert.equal(headerValueToString(42), "42");
  assert.equal(headerValueToString(1.5), "1.5");
  assert.equal(headerValueToString(10n), "10");
  assert.equal(headerValueToString(false), "false");
  assert.equal(headerValueToString(null), "");
  assert.equal(headerValueToString({ "!": "timestamp", value: 0 }), "1970-01-01T00:00:00.000Z");
  assert.equal(headerValueToString({ "!": "float", value: 2.5 }), "2.5");
  assert.equal(headerValueToString([1, "a"]), '[1,"a"]');
  assert.equal(headerValueToString({ a: 1n }), '{"a":"1"}');
});

test("Micro-Topic is filled from the routing key only when missing", () => {
  assert.deepEqual(fromAmqpHeaders(undefined, "rk"), { "Micro-Topic": "rk" });
  assert.deepEqual(fromAmqpHeaders({ "Micro-Topic": "t", n: 1 }, "rk"), { "Micro-Topic": "t", n: "1" });
});

test("outgoing headers are copied verbatim, keys untouched", () => {
  const h = { "Micro-ID": "x", "content-type": "a/b" };
  const out = toAmqpHeaders(h);
  assert.deepEqual(out, h);
  assert.notEqual(out, h);
});
