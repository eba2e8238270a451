import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { performance } from "node:perf_hooks";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { isPolling, keepPolling } from "./busy-poll.js";

test("keepPolling keeps the event loop turning for its window, then lets it sleep", async () => {
  assert.equal(isPolling(), false);
  keepPolling(0);
  keepPolling(-1);
  assert.equal(isPolling(), false, "0 or less does nothing");
  keepPolling(30);
  assert.equal(isPolling(), true);
  // While polling, the loop never waits in the kernel: it is busy all the time it waits for the
  // timer. Once the window has closed, it sleeps until the timer is due.
  let start = performance.eventLoopUtilization();
  await sleep(15);
  const polling = performance.eventLoopUtilization(start).utilization;
  assert.ok(polling > 0.5, `the loop slept while polling (utilization ${polling.toFixed(2)})`);
  await sleep(60);
  assert.equal(isPolling(), false, "still polling after the window");
  start = performance.eventLoopUtilization();
  await sleep(30);
  const asleep = performance.eventLoopUtilization(start).utilization;
  assert.ok(asleep < 0.5, `the loop kept turning after the window (utilization ${asleep.toFixed(2)})`);
});

test("a later, longer window extends polling; a shorter one does not cut it", async () => {
  keepPolling(40);
  keepPolling(1);
  await sleep(15);
  assert.equal(isPolling(), true);
  await sleep(80);
  assert.equal(isPolling(), false);
});

test("a process with nothing else to do exits after the window, and windows are capped at 1 s", () => {
  // The child imports this module as the tests run it: the TypeScript source (through tsx) or the
  // compiled file.
  const fromSource = import.meta.url.endsWith(".ts");
  const url = new URL(fromSource ? "./busy-poll.ts" : "./busy-poll.js", import.meta.url);
  const started = Date.now();
  const r = spawnSync(
    process.execPath,
    [
      ...(fromSource ? ["--import", "tsx"] : []),
      "--input-type=module",
      "-e",
      `import { keepPolling } from ${JSON.stringify(url.href)}; keepPolling(60_000);`,
    ],
    { cwd: fileURLToPath(new URL(".", import.meta.url)), timeout: 20_000 },
  );
  assert.equal(r.status, 0, String(r.stderr));
  assert.ok(Date.now() - started < 15_000, "the 60 s window was not capped");
});
