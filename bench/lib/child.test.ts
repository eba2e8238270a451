import assert from "node:assert/strict";
import { test } from "node:test";
import { gcMicros, startMeter, watchGc } from "./child.js";

test("the meter counts the GC pauses that allocation causes, and CPU", async () => {
  watchGc();
  const before = await gcMicros();
  const meter = await startMeter();
  // About 60 MB of short-lived objects, each kept in a ring for a while (so the compiler cannot
  // remove the allocation): far more than a young generation holds, so V8 must collect.
  const ring: unknown[][] = new Array(1024);
  for (let i = 0; i < 1_000_000; i++) ring[i & 1023] = [i, `${i}`];
  assert.equal(ring.length, 1024);
  const { cpuUs, gcUs } = await meter.stop();
  assert.ok(gcUs > 0, `expected GC pauses, got ${gcUs} µs`);
  assert.ok(cpuUs >= gcUs, `CPU ${cpuUs} µs should include the GC pauses ${gcUs} µs`);
  assert.ok((await gcMicros()) - before >= gcUs);
});
