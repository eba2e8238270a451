import assert from "node:assert/strict";
import { test } from "node:test";
import { backoffDelay, normalizeAddress, resolveOptions } from "./options.js";

test("defaults match Go Micro's RabbitMQ broker, with durable queue groups", () => {
  const o = resolveOptions({});
  assert.equal(o.url, "amqp://guest:guest@127.0.0.1:5672?heartbeat=10");
  assert.equal(o.safeAddress, "amqp://127.0.0.1:5672");
  assert.deepEqual(o.exchange, { name: "micro", type: "topic", durable: false });
  assert.equal(o.prefetch, 0);
  assert.equal(o.confirmPublish, true);
  assert.equal(o.heartbeatSec, 10);
  assert.deepEqual(o.reconnect, { initialDelayMs: 100, maxDelayMs: 30_000 });
  assert.equal(o.durableQueues, true);
  assert.equal(o.persistent, true);
  assert.equal(o.requeueOnError, true);
});

test("persistent follows durableQueues unless set", () => {
  assert.equal(resolveOptions({ durableQueues: false }).persistent, false);
  assert.equal(resolveOptions({ durableQueues: false, persistent: true }).persistent, true);
});

test("host:port addresses get guest credentials; an explicit heartbeat is kept", () => {
  assert.equal(normalizeAddress("10.0.0.1:5673", 10).url, "amqp://guest:guest@10.0.0.1:5673?heartbeat=10");
  const u = normalizeAddress("amqps://u:p%40ss@h:5671/vh?heartbeat=3", 10);
  assert.equal(u.url, "amqps://u:p%40ss@h:5671/vh?heartbeat=3");
  assert.equal(u.safe, "amqps://h:5671/vh");
});

test("back-off doubles from the initial delay up to the cap, with ±20 % jitter", () => {
  const r = { initialDelayMs: 100, maxDelayMs: 1000 };
  for (let i = 0; i < 50; i++) {
    const d0 = backoffDelay(0, r);
    assert.ok(d0 >= 80 && d0 <= 120, `first delay ${d0}`);
    const d3 = backoffDelay(3, r);
    assert.ok(d3 >= 640 && d3 <= 960, `fourth delay ${d3}`);
    const d50 = backoffDelay(50, r);
    assert.ok(d50 >= 800 && d50 <= 1200, `capped delay ${d50}`);
  }
});
