import { hrtime } from "node:process";
import * as core from "@microts/core";
import { createMemoryRegistry, createSelector, type Registry, type ServiceRecord } from "@microts/core";
import { createNatsRegistry } from "@microts/nats";
import { cpuMicros } from "../../lib/child.js";
import { runClient } from "../../lib/client-harness.js";
import { Histogram } from "../../lib/histogram.js";
import type { RoundResult } from "../../lib/protocol.js";

type CacheFactory = (registry: Registry, options?: { ttlMs?: number }) => Registry;

/** `createCacheRegistry` from @microts/core when it exists (looked up by name, not imported). */
function cacheFactory(): CacheFactory | undefined {
  const f = (core as Record<string, unknown>).createCacheRegistry;
  return typeof f === "function" ? (f as CacheFactory) : undefined;
}

const SERVICE: ServiceRecord = {
  name: "bench.lookup",
  version: "latest",
  metadata: {},
  endpoints: [],
  nodes: [1, 2, 3].map((i) => ({
    id: `bench.lookup-${i}`,
    address: `127.0.0.1:${10_000 + i}`,
    metadata: {},
  })),
};

// Registry lookup cost, in one process: Registry.getService directly and through the selector
// (select + next), each without and with a cache, on the memory registry and on the NATS
// registry (a second NATS registry instance registers the service and answers the queries).
runClient(async () => {
  const memory = createMemoryRegistry();
  await memory.register(SERVICE);
  const topics = {
    queryTopic: `bench.registry.query.${process.pid}`,
    watchTopic: `bench.registry.watch.${process.pid}`,
  };
  const natsOwner = createNatsRegistry({ address: "nats://127.0.0.1:4222", ...topics });
  const nats = createNatsRegistry({ address: "nats://127.0.0.1:4222", ...topics, timeoutMs: 500, quorum: 3 });
  await natsOwner.register(SERVICE, { timeoutMs: 5_000 });
  const makeCache = cacheFactory();
  const cached = new Map<string, Registry>();
  const lookup = (name: string): (() => Promise<unknown>) | string => {
    const [backend, how] = name.split("/") as [string, string];
    const base = backend === "nats" ? nats : memory;
    const withCache = how.endsWith("+cache");
    if (how.startsWith("getService")) {
      let reg: Registry = base;
      if (withCache) {
        if (!makeCache) return "createCacheRegistry is not exported by @microts/core";
        reg = cached.get(backend) ?? makeCache(base);
        cached.set(backend, reg);
      }
      return () => reg.getService(SERVICE.name);
    }
    const selector = createSelector({ registry: base, cache: withCache });
    return async () => (await selector.select(SERVICE.name))();
  };
  const fns = new Map<string, () => Promise<unknown>>();
  return {
    async custom(name, job): Promise<RoundResult> {
      let fn = fns.get(name);
      if (!fn) {
        const made = lookup(name);
        if (typeof made === "string") throw new Error(`unavailable: ${made}`);
        fn = made;
        fns.set(name, fn);
      }
      const hist = new Histogram();
      let errors = 0;
      let firstError: string | undefined;
      const cpu0 = cpuMicros();
      const t0 = hrtime.bigint();
      const deadline = t0 + BigInt(job.durationMs) * 1_000_000n;
      while (hist.count + errors < job.maxCount && errors < 50) {
        const start = hrtime.bigint();
        if (start >= deadline) break;
        try {
          const r = await fn();
          if (Array.isArray(r) && r.length === 0) throw new Error("service not found");
          hist.record(Number(hrtime.bigint() - start));
        } catch (err) {
          errors++;
          firstError ??= err instanceof Error ? err.message : String(err);
        }
      }
      return {
        count: hist.count,
        errors,
        elapsedNs: Number(hrtime.bigint() - t0),
        cpuUs: cpuMicros() - cpu0,
        p50Ns: hist.quantile(0.5),
        p99Ns: hist.quantile(0.99),
        firstError,
      };
    },
    async close() {
      await natsOwner.deregister(SERVICE, { timeoutMs: 2_000 }).catch(() => {});
      for (const r of [...cached.values(), nats, natsOwner]) await r.close().catch(() => {});
    },
  };
});
