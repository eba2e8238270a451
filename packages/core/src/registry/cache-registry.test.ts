import assert from "node:assert/strict";
import { test } from "node:test";
import { registryContract } from "@microts/testing";
import { MicroError } from "../errors/micro-error.js";
import { createCacheRegistry } from "./cache-registry.js";
import { createMemoryRegistry } from "./memory-registry.js";
import type { Registry, Service } from "./registry.js";

const shared = createMemoryRegistry({ pruneIntervalMs: 200 });
registryContract("cache over memory", {
  create: async () => createCacheRegistry(shared, { ttlMs: 60_000 }),
  propagationMs: 50,
});

const svc = (id: string): Service => ({
  name: "cached",
  version: "1",
  endpoints: [],
  nodes: [{ id, address: `memory:${id}`, metadata: {} }],
});

/** A registry whose lookups can be made to fail, like a backend that went away. */
function flaky(inner: Registry): Registry & { down: boolean; lookups: number } {
  const r = {
    ...inner,
    down: false,
    lookups: 0,
    async getService(name: string) {
      r.lookups++;
      if (r.down) throw MicroError.serviceUnavailable("test", "registry unreachable");
      return inner.getService(name);
    },
  };
  return r;
}

test("lookups are served from memory until the TTL", async () => {
  const backend = flaky(createMemoryRegistry());
  await backend.register(svc("a"));
  const cache = createCacheRegistry(backend, { ttlMs: 60_000 });
  for (let i = 0; i < 20; i++) assert.equal((await cache.getService("cached"))[0]?.nodes.length, 1);
  assert.equal(backend.lookups, 1);
  await cache.close();
});

test("concurrent lookups share one fetch", async () => {
  const backend = flaky(createMemoryRegistry());
  await backend.register(svc("a"));
  const cache = createCacheRegistry(backend);
  await Promise.all(Array.from({ length: 10 }, () => cache.getService("cached")));
  assert.equal(backend.lookups, 1);
  await cache.close();
});

test("watch events keep the cached entry current", async () => {
  const backend = createMemoryRegistry();
  await backend.register(svc("a"));
  const cache = createCacheRegistry(backend, { ttlMs: 60_000 });
  await cache.getService("cached");
  await new Promise((r) => setTimeout(r, 20));
  await backend.register(svc("b"));
  await backend.deregister(svc("a"));
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(
    (await cache.getService("cached"))[0]?.nodes.map((n) => n.id),
    ["b"],
  );
  await cache.close();
});

test("a registry outage is served from the last known nodes, refreshed in the background", async () => {
  const backend = flaky(createMemoryRegistry());
  await backend.register(svc("a"));
  const cache = createCacheRegistry(backend, { ttlMs: 1, retryMs: 1 });
  await cache.getService("cached");
  backend.down = true;
  await new Promise((r) => setTimeout(r, 5));
  assert.equal((await cache.getService("cached"))[0]?.nodes[0]?.id, "a");
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(cache.degraded, true, "the background refresh saw the outage");
  backend.down = false;
  assert.equal((await cache.getService("cached"))[0]?.nodes[0]?.id, "a");
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(cache.degraded, false, "the next refresh saw the registry back");
  await cache.close();
});

test("a slow registry never stalls a lookup that has known nodes", async () => {
  const inner = createMemoryRegistry();
  await inner.register(svc("a"));
  let slow = false;
  const backend: Registry = {
    ...inner,
    async getService(name: string) {
      if (slow) await new Promise((r) => setTimeout(r, 1_000));
      return inner.getService(name);
    },
  };
  const cache = createCacheRegistry(backend, { ttlMs: 1 });
  await cache.getService("cached");
  slow = true;
  await new Promise((r) => setTimeout(r, 5));
  const t0 = Date.now();
  assert.equal((await cache.getService("cached"))[0]?.nodes[0]?.id, "a");
  assert.ok(Date.now() - t0 < 100, "served from the cache while the refresh runs");
  await cache.close();
});

test("an outage with nothing cached is an error, not an empty answer", async () => {
  const backend = flaky(createMemoryRegistry());
  backend.down = true;
  const cache = createCacheRegistry(backend);
  await assert.rejects(cache.getService("cached"), { code: 503 });
  await cache.close();
});
