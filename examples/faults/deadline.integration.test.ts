import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { createMemoryRegistry, isMicroError } from "@microts/core";
import { countingClient, waitFor } from "./load.js";
import { type GreeterNode, startNode, uniqueName } from "./nodes.js";

const DEADLINE_MS = 300;
const MARGIN_MS = 250;

// A handler slower than the caller's deadline: the caller gets 408 within the deadline plus a
// small margin, and the handler's ctx.signal fires (the worker records it in a file).
test("a handler slower than the deadline: 408 in time, and the handler's signal fired", {
  timeout: 60_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), "microts-faults-"));
  const events = join(dir, "events.log");
  let node: GreeterNode | undefined;
  const registry = createMemoryRegistry();
  const { client, log } = countingClient({ registry });
  try {
    node = await startNode({ env: { FAULT_SERVICE: uniqueName("slow"), FAULT_EVENTS: events } });
    const address = node.address;
    // Warm the connection pool so the first measurement is not a dial.
    await client.call("faulty-greeter", "Greeter.Read", { id: "warm" }, { address });
    const calls = 8;
    const elapsed: number[] = [];
    const codes: Array<number | string> = [];
    await Promise.all(
      Array.from({ length: calls }, async (_, i) => {
        const t0 = Date.now();
        try {
          await client.call(
            "faulty-greeter",
            "Greeter.Slow",
            { id: `slow-${i}`, ms: 5_000 },
            { address, timeoutMs: DEADLINE_MS },
          );
          codes.push("ok");
        } catch (err) {
          codes.push(isMicroError(err) ? err.code : String(err));
        }
        elapsed.push(Date.now() - t0);
      }),
    );
    const fired = () =>
      readFileSafe(events)
        .split("\n")
        .filter((l) => l.startsWith("aborted "));
    await waitFor(() => fired().length >= calls, 2_000);
    const lines = fired();
    const handlerMs = lines.map((l) => Number(l.split(" ")[2]));
    let attempts = 0;
    for (let i = 0; i < calls; i++) attempts += log.count(`slow-${i}`);
    console.log(
      `# counts deadline: ${JSON.stringify({
        made: calls,
        failed408: codes.filter((c) => c === 408).length,
        retried: attempts - calls,
        maxElapsedMs: Math.max(...elapsed),
        signalsFired: lines.length,
        handlerSawAbortAfterMs: Math.max(...handlerMs),
        abortCodes: [...new Set(lines.map((l) => l.split(" ")[3]))],
      })}`,
    );

    assert.deepEqual(codes, Array(calls).fill(408), "every call failed with 408");
    assert.equal(attempts, calls, "a non-idempotent call is not retried after a timeout");
    for (const ms of elapsed) assert.ok(ms < DEADLINE_MS + MARGIN_MS, `408 after ${ms} ms`);
    for (const ms of elapsed) assert.ok(ms >= DEADLINE_MS - 20, `408 too early: ${ms} ms`);
    assert.equal(lines.length, calls, "every handler saw its signal fire");
    for (const ms of handlerMs) assert.ok(ms < DEADLINE_MS + MARGIN_MS, `handler aborted after ${ms} ms`);
  } finally {
    await client.close();
    await node?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

function readFileSafe(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}
