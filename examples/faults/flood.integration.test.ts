import assert from "node:assert/strict";
import { test } from "node:test";
import {
  type Client,
  createMemoryRegistry,
  isMicroError,
  neverRetry,
  retryIfNotDelivered,
} from "@microts/core";
import { countingClient, describe } from "./load.js";
import { type GreeterNode, startNode, uniqueName } from "./nodes.js";

const MAX_IN_FLIGHT = 4;
const CONCURRENT = 200;
const FLOOD_MS = 2_000;
const PROBE_BOUND_MS = 1_000;

// A node with maxInFlight 4 flooded by 200 callers in a loop (each call asks 50 ms of work, no
// retries, bounded in time and count): the excess is shed with the retryable 503 "server
// overloaded", nothing else fails; a health call made every 100 ms during the flood gets an
// answer (served, or shed) within 1 s (the flood loads the caller's event loop too); after the flood every call succeeds again.
test("flood beyond maxInFlight: excess shed with a retryable 503, server stays responsive, recovers", {
  timeout: 60_000,
}, async () => {
  let node: GreeterNode | undefined;
  const registry = createMemoryRegistry();
  const { client, log } = countingClient({ registry, retries: 0 });
  try {
    node = await startNode({
      env: {
        FAULT_SERVICE: uniqueName("flood"),
        FAULT_MAX_INFLIGHT: String(MAX_IN_FLIGHT),
        // The health probe's endpoint is exempt from the limit: it must be served, not shed.
        FAULT_EXEMPT: "Greeter.Read",
      },
    });
    const address = node.address;
    const opts = { address, retry: neverRetry, retries: 0, timeoutMs: 5_000 };
    await client.call("faulty-greeter", "Greeter.Read", { id: "warm" }, opts);

    let made = 0;
    let ok = 0;
    let shed = 0;
    let shedRetryable: boolean | undefined;
    const other: Record<string, number> = {};
    const t0 = Date.now();
    const flooding = () => Date.now() - t0 < FLOOD_MS && made < 40_000;
    const caller = async (c: number) => {
      while (flooding()) {
        const id = `flood-${c}-${made++}`;
        try {
          await client.call("faulty-greeter", "Greeter.Slow", { id, ms: 50 }, opts);
          ok++;
        } catch (err) {
          if (isMicroError(err) && err.code === 503 && err.detail === "server overloaded") {
            shed++;
            // What the default policy decides for a shed non-idempotent call: it never ran, so retry.
            shedRetryable ??= retryIfNotDelivered({
              request: client.newRequest("faulty-greeter", "Greeter.Slow", {}),
              attempt: 1,
              error: err,
              phase: "response",
              idempotent: false,
            });
          } else other[describe(err)] = (other[describe(err)] ?? 0) + 1;
          // A shed call is answered at once; yield so the loop does not starve the event loop.
          await new Promise((r) => setImmediate(r));
        }
      }
    };
    const probes: Array<{ ms: number; outcome: string }> = [];
    const prober = async () => {
      await new Promise((r) => setTimeout(r, 200));
      for (let i = 0; flooding(); i++) {
        probes.push(await probe(client, address, `probe-${i}`));
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    await Promise.all([...Array.from({ length: CONCURRENT }, (_, c) => caller(c)), prober()]);

    // Recovery: sequential calls, no retries, all succeed.
    let after = 0;
    for (let i = 0; i < 20; i++) {
      await client.call("faulty-greeter", "Greeter.Slow", { id: `after-${i}`, ms: 10 }, opts);
      after++;
    }
    const attempts = [...log.attempts.values()].reduce((a, b) => a + b, 0);
    const probeMs = probes.map((p) => p.ms);
    console.log(
      `# counts flood: ${JSON.stringify({
        made,
        ok,
        shed,
        failedOther: other,
        retried: attempts - (made + probes.length + 1 + after),
        probes: probes.length,
        probesServed: probes.filter((p) => p.outcome === "ok").length,
        probesShed: probes.filter((p) => p.outcome === "shed").length,
        probeMaxMs: Math.max(...probeMs),
        afterFloodOk: after,
      })}`,
    );

    assert.deepEqual(other, {}, "the only failures are sheds");
    assert.ok(shed > 0, "the excess was shed");
    assert.equal(
      shedRetryable,
      true,
      "a shed call is retryable by the default policy, even if not idempotent",
    );
    assert.ok(ok > 0, "work was done during the flood");
    assert.ok(ok <= Math.ceil((FLOOD_MS + 500) / 50) * MAX_IN_FLIGHT, `at most ${MAX_IN_FLIGHT} at once`);
    assert.ok(probes.length >= 3, `the health probe ran during the flood (${probes.length} times)`);
    for (const p of probes) {
      assert.equal(p.outcome, "ok", `probe not served: ${JSON.stringify(p)}`);
      assert.ok(p.ms < PROBE_BOUND_MS, `probe answered after ${p.ms} ms`);
    }
    assert.equal(after, 20);
  } finally {
    await client.close();
    await node?.stop();
  }
});

/** One health call: `ok` when served, `shed` when refused with 503 "server overloaded". */
async function probe(client: Client, address: string, id: string): Promise<{ ms: number; outcome: string }> {
  const t0 = Date.now();
  try {
    await client.call("faulty-greeter", "Greeter.Read", { id }, { address, retries: 0, timeoutMs: 2_000 });
    return { ms: Date.now() - t0, outcome: "ok" };
  } catch (err) {
    const shed = isMicroError(err) && err.code === 503 && err.detail === "server overloaded";
    return { ms: Date.now() - t0, outcome: shed ? "shed" : `error ${describe(err)}` };
  }
}
