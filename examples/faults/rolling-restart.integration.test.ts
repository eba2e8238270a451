import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { createMdnsRegistry } from "@microts/mdns";
import { countingClient, report, startLoad } from "./load.js";
import { type GreeterNode, startNode, stopAll, uniqueName } from "./nodes.js";
import { warmUp } from "./warmup.js";

// A rolling restart of all three nodes under load: for each node, a replacement starts and
// registers, then the old one gets SIGTERM and stops gracefully (deregister, keep serving for
// gracePeriodMs so callers' registry caches drop it, then drain). No call may fail, idempotent
// or not, and no write may run twice.
//
// Service options a user would choose for this: gracePeriodMs 500 (the mDNS goodbye reaches
// callers' watches well within it) and the default drain timeout; client: 3 retries, 20 ms
// backoff base (see countingClient).
test("rolling restart of three nodes with SIGTERM under load", { timeout: 90_000 }, async () => {
  const service = uniqueName("roll");
  const dir = mkdtempSync(join(tmpdir(), "microts-faults-"));
  const writeLog = join(dir, "writes.log");
  const env = { FAULT_SERVICE: service, FAULT_WRITE_LOG: writeLog, FAULT_GRACE_MS: "500" };
  const nodes: GreeterNode[] = [];
  const registry = createMdnsRegistry({});
  const { client, log } = countingClient({ registry });
  try {
    nodes.push(...(await Promise.all([0, 1, 2].map(() => startNode({ env })))));
    assert.equal((await warmUp(client, service, 3)).size, 3);

    const reads = startLoad({ client, log, service, endpoint: "Greeter.Read", concurrency: 8, workMs: 10 });
    const writes = startLoad({ client, log, service, endpoint: "Greeter.Write", concurrency: 4, workMs: 10 });
    await Promise.all([reads.completed(200), writes.completed(100)]);
    const exits: Array<number | NodeJS.Signals> = [];
    for (let i = 0; i < 3; i++) {
      const replacement = await startNode({ env });
      nodes.push(replacement);
      exits.push(await (nodes[i] as GreeterNode).stop());
    }
    // Let traffic settle on the three new nodes.
    await new Promise((r) => setTimeout(r, 1_000));
    const [r, w] = await Promise.all([reads.stop(), writes.stop()]);

    const executed = readFileSync(writeLog, "utf8").split("\n").filter(Boolean);
    const duplicated = executed.length - new Set(executed).size;
    report("rolling restart / Greeter.Read (idempotent)", r);
    report("rolling restart / Greeter.Write (not idempotent)", w, { executed: executed.length, duplicated });
    console.log(`# old nodes exited with ${JSON.stringify(exits)}`);

    assert.deepEqual(exits, [0, 0, 0], "every old node stopped cleanly");
    assert.equal(r.failed, 0, `reads failed: ${JSON.stringify(r.failures)}`);
    assert.equal(w.failed, 0, `writes failed: ${JSON.stringify(w.failures)}`);
    assert.equal(duplicated, 0, "no write ran twice");
    assert.ok(r.made > 500 && w.made > 250, "the load kept going");
  } finally {
    await client.close();
    await stopAll(nodes);
    await registry.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
