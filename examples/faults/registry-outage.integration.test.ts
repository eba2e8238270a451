import assert from "node:assert/strict";
import { test } from "node:test";
import { createSelector, type Logger } from "@microts/core";
import { createEtcdRegistry } from "@microts/etcd";
import { startEtcd } from "@microts/testing/servers/etcd";
import { countingClient, report, startLoad } from "./load.js";
import { type GreeterNode, startNode, stopAll, uniqueName } from "./nodes.js";
import { warmUp } from "./warmup.js";

// The registry (a private etcd) is stopped for 5 s under load, then started again. The caller's
// selector serves the last known nodes from its cache: no call fails. The cache TTL is set to
// 500 ms so that lookups really go to the dead registry during the outage (with the default 60 s
// TTL the outage would not even be noticed), and the cache's "serving from cache" warnings are
// counted to prove it.
test("registry outage (etcd stopped 5 s) under load", { timeout: 90_000 }, async () => {
  await using etcd = await startEtcd();
  const service = uniqueName("etcd");
  const env = { FAULT_SERVICE: service, FAULT_ETCD: etcd.address };
  const nodes: GreeterNode[] = [];
  let staleLookups = 0;
  const cacheLog: Logger = {
    debug() {},
    info() {},
    warn(message) {
      if (message.includes("serving")) staleLookups++;
    },
    error() {},
  };
  const registry = createEtcdRegistry({ address: etcd.address, timeoutMs: 1000 });
  const selector = createSelector({ registry, cache: { ttlMs: 500, logger: cacheLog } });
  const { client, log } = countingClient({ selector });
  try {
    nodes.push(...(await Promise.all([0, 1, 2].map(() => startNode({ env })))));
    assert.equal((await warmUp(client, service, 3)).size, 3);

    const reads = startLoad({ client, log, service, endpoint: "Greeter.Read", concurrency: 8, workMs: 10 });
    await reads.completed(200);
    await etcd.stop();
    const atStop = reads.made;
    await new Promise((r) => setTimeout(r, 5_000));
    const duringOutage = reads.made - atStop;
    const staleDuringOutage = staleLookups;
    const t0 = Date.now();
    await etcd.start();
    const etcdStartMs = Date.now() - t0;
    await new Promise((r) => setTimeout(r, 2_000));
    const r = await reads.stop();
    report("registry outage / Greeter.Read", r, {
      duringOutage,
      staleLookups: staleDuringOutage,
      etcdStartMs,
    });

    assert.equal(r.failed, 0, `calls failed: ${JSON.stringify(r.failures)}`);
    assert.ok(duringOutage > 300, "calls went on during the outage");
    assert.ok(staleDuringOutage > 0, "lookups reached the stopped registry and were served from cache");
    // After the outage the registry answers again: a fresh lookup sees the three nodes.
    const services = await registry.getService(service, { timeoutMs: 2000 });
    assert.equal(services.flatMap((s) => s.nodes).length, 3);
  } finally {
    await client.close();
    await selector.close();
    await stopAll(nodes);
    await registry.close();
  }
});

// While etcd boots, its port accepts requests but answers only once it is ready (~1.5 s here).
// Calls with short budgets must not wait for that slow lookup: the cache answers with the known
// nodes and refreshes in the background.
test("a registry that is slow to answer (etcd booting) does not stall calls with short budgets", {
  timeout: 60_000,
}, async () => {
  await using etcd = await startEtcd();
  const service = uniqueName("boot");
  let node: GreeterNode | undefined;
  const registry = createEtcdRegistry({ address: etcd.address });
  const selector = createSelector({ registry, cache: { ttlMs: 200 } });
  const { client, log } = countingClient({ selector, timeoutMs: 500 });
  try {
    node = await startNode({ env: { FAULT_SERVICE: service, FAULT_ETCD: etcd.address } });
    assert.equal((await warmUp(client, service, 1)).size, 1);
    await etcd.stop();
    const booting = etcd.start();
    const reads = startLoad({ client, log, service, endpoint: "Greeter.Read", concurrency: 4, maxMs: 2_500 });
    await booting;
    await new Promise((r) => setTimeout(r, 500));
    const r = await reads.stop();
    report("registry booting / Greeter.Read (500 ms budget)", r);
    assert.equal(r.failed, 0, `calls failed: ${JSON.stringify(r.failures)}`);
  } finally {
    await client.close();
    await selector.close();
    await node?.stop();
    await registry.close();
  }
});
