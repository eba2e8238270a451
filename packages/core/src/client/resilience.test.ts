import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { MicroError } from "../errors/micro-error.js";
import { silentLogger } from "../logger/logger.js";
import { createMemoryRegistry } from "../registry/memory-registry.js";
import type { Registry } from "../registry/registry.js";
import { createSelector } from "../selector/registry-selector.js";
import { leastOutstanding } from "../selector/strategies.js";
import { createServer } from "../server/rpc-server.js";
import type { Server } from "../server/server.js";
import { createMemoryTransport } from "../transport/memory-transport.js";
import type { Transport } from "../transport/transport.js";
import { RetryBudget } from "./retry.js";
import { createClient } from "./rpc-client.js";

async function node(
  registry: Registry,
  transport: Transport,
  name: string,
  handlers: Record<string, (req: unknown) => Promise<unknown>>,
  extra: { maxInFlight?: number; idempotent?: string[] } = {},
): Promise<Server> {
  const s = createServer({
    name: "svc",
    registry,
    transport,
    logger: silentLogger,
    maxInFlight: extra.maxInFlight,
  });
  class S {}
  for (const [m, fn] of Object.entries(handlers)) Object.defineProperty(S.prototype, m, { value: fn });
  s.handle(new S(), { name: "S", idempotent: extra.idempotent as never });
  await s.start();
  void name;
  return s;
}

describe("resilience", () => {
  test("an idempotent endpoint is retried on another node after a timeout; a non-idempotent one is not", async () => {
    const registry = createMemoryRegistry();
    const transport = createMemoryTransport();
    const runs = { slowA: 0, slowB: 0 };
    let first = true;
    const handler = (key: "slowA" | "slowB") => async () => {
      runs[key]++;
      if (first) {
        first = false;
        await new Promise((r) => setTimeout(r, 400));
      }
      return { ok: true };
    };
    const a = await node(
      registry,
      transport,
      "a",
      { read: handler("slowA"), write: handler("slowA") },
      { idempotent: ["read"] },
    );
    const b = await node(
      registry,
      transport,
      "b",
      { read: handler("slowB"), write: handler("slowB") },
      { idempotent: ["read"] },
    );
    // Each attempt gets the whole remaining budget, so to see a retry after a timeout the caller's
    // policy must split it: here the first attempt is cut short by the attempt middleware.
    first = true;
    const cut = createClient({
      registry,
      transport,
      retries: 1,
      backoff: () => 0,
      attemptMiddleware: [
        (next) => (n, req, opts) => {
          const signal = AbortSignal.any([opts.signal as AbortSignal, AbortSignal.timeout(100)]);
          return next(n, req, { ...opts, signal }).catch((err: unknown) => {
            if (signal.aborted && !(opts.signal as AbortSignal).aborted)
              throw MicroError.timeout("test", "attempt timeout");
            throw err;
          });
        },
      ],
    });
    assert.deepEqual(await cut.call("svc", "S.Read", {}), { ok: true });
    assert.equal(runs.slowA + runs.slowB, 2, "the idempotent read ran on both nodes");
    first = true;
    runs.slowA = runs.slowB = 0;
    await assert.rejects(cut.call("svc", "S.Write", {}), { code: 408 });
    assert.equal(runs.slowA + runs.slowB, 1, "the non-idempotent write ran once");
    await cut.close();
    await a.stop();
    await b.stop();
  });

  test("load shedding: beyond maxInFlight the server answers a retryable 503 and the call lands elsewhere", async () => {
    const registry = createMemoryRegistry();
    const transport = createMemoryTransport();
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const busy = await node(
      registry,
      transport,
      "busy",
      {
        work: async () => {
          await gate;
          return { by: "busy" };
        },
      },
      { maxInFlight: 1 },
    );
    const client = createClient({ registry, transport, retries: 0 });
    // Fill the busy node.
    const held = [client.call("svc", "S.Work", {}, { address: busy.address })];
    await new Promise((r) => setTimeout(r, 20));
    await assert.rejects(client.call("svc", "S.Work", {}, { address: busy.address }), {
      code: 503,
      detail: "server overloaded",
    });
    const spare = await node(registry, transport, "spare", { work: async () => ({ by: "spare" }) });
    const retrying = createClient({
      registry,
      transport,
      retries: 3,
      backoff: () => 0,
      selector: createSelector({ registry, cache: false }),
    });
    // Calls that pick the busy node are refused before any handler runs and retried on the spare.
    for (let i = 0; i < 10; i++)
      assert.equal(((await retrying.call("svc", "S.Work", {})) as { by: string }).by, "spare");
    release();
    await Promise.all(held);
    await client.close();
    await retrying.close();
    await busy.stop();
    await spare.stop();
  });

  test("leastOutstanding sends new calls away from a node with calls in progress", async () => {
    const registry = createMemoryRegistry();
    await registry.register({
      name: "lo",
      version: "1",
      endpoints: [],
      nodes: [
        { id: "a", address: "memory:a", metadata: {} },
        { id: "b", address: "memory:b", metadata: {} },
      ],
    });
    const selector = createSelector({ registry, strategy: leastOutstanding });
    const next = await selector.select("lo");
    const a = next(new Set(["b"]));
    assert.equal(a.id, "a");
    const done = [selector.track?.("lo", a), selector.track?.("lo", a)];
    for (let i = 0; i < 50; i++) assert.equal((await selector.select("lo"))().id, "b");
    for (const d of done) d?.();
    // Ended twice, a call still counts once: the node is not taken for idler than it is.
    done[0]?.();
    const picks = new Set<string>();
    for (let i = 0; i < 50; i++) picks.add((await selector.select("lo"))().id);
    assert.deepEqual([...picks].sort(), ["a", "b"]);
    await selector.close();
  });

  test("the retry budget caps retries to a share of calls", () => {
    const budget = new RetryBudget({ ratio: 0.1, minRetries: 2 });
    let allowed = 0;
    for (let i = 0; i < 100; i++) {
      budget.deposit();
      if (budget.withdraw()) allowed++;
    }
    assert.ok(allowed >= 10 && allowed <= 13, `allowed ${allowed} retries for 100 calls`);
  });
});
