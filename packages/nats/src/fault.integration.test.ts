import assert from "node:assert/strict";
import { after, afterEach, before, describe, test } from "node:test";
import type { Broker, RegistryEvent } from "@microts/core";
import { createClient, createServer, silentLogger } from "@microts/core";
import type { NatsServer } from "@microts/testing/servers/nats";
import { startNatsServer } from "@microts/testing/servers/nats";
import { createJetStreamBroker } from "./jetstream-broker.js";
import { createNatsBroker } from "./nats-broker.js";
import { createNatsRegistry } from "./nats-registry.js";
import { createNatsTransport } from "./nats-transport.js";

const enc = new TextEncoder();
const dec = new TextDecoder();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, cond: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Everything a test opened, closed after it whether it passed or not (so the process can exit). */
const closers: Array<() => Promise<unknown>> = [];
function track<T extends { disconnect?: () => Promise<void>; close?: () => Promise<void> }>(x: T): T {
  closers.push(() => (x.disconnect ? x.disconnect() : (x.close?.() ?? Promise.resolve())));
  return x;
}

// Our own nats-server on a free port: these tests restart it (the shared one must keep running).
describe("surviving a NATS server restart", { timeout: 120_000 }, () => {
  let server: NatsServer;
  before(async () => {
    server = await startNatsServer({ jetstream: true });
  });
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close().catch(() => {});
  });
  after(async () => {
    await server.stop();
  });

  test("jetstream: no acknowledged message is lost, none is silently dropped", {
    timeout: 90_000,
  }, async () => {
    const opts = { address: server.url, stream: "FAULT", ackWaitMs: 2_000, publishTimeoutMs: 4_000 };
    const pub: Broker = track(createJetStreamBroker(opts));
    const sub: Broker = track(createJetStreamBroker(opts));
    const received = new Map<string, number>();
    const errors: unknown[] = [];
    await sub.subscribe(
      "orders.created",
      (e) => {
        const id = e.message.header["Micro-ID"] ?? "?";
        received.set(id, (received.get(id) ?? 0) + 1);
      },
      { queue: "billing", onError: (err) => errors.push(err) },
    );
    const acked = new Set<string>();
    const rejected: string[] = [];
    let restart: Promise<void> | undefined;
    const total = 400;
    for (let i = 0; i < total; i++) {
      if (i === 120) restart = server.restart({ downMs: 1_500 });
      const id = `m-${i}`;
      try {
        await pub.publish("orders.created", { header: { "Micro-ID": id }, body: enc.encode(String(i)) });
        acked.add(id);
      } catch (err) {
        rejected.push(id); // the caller was told: not silently dropped
        if (rejected.length === 1) console.log(`# first rejection: ${String(err)}`);
      }
      await sleep(5);
    }
    await restart;
    const missing = () => [...acked].filter((id) => !received.has(id));
    await until(
      `all acked messages delivered (missing ${missing().length})`,
      () => missing().length === 0,
      40_000,
    ).catch((err) => {
      console.log("# missing", missing(), "rejected", rejected, "errors", errors);
      throw err;
    });
    assert.deepEqual(missing(), []);
    assert.ok(acked.has(`m-${total - 1}`), "publishing works again after the restart");
    assert.ok(acked.size + rejected.length === total);
    const duplicates = [...received.values()].filter((n) => n > 1).length;
    console.log(
      `# jetstream restart: ${acked.size} acked, ${rejected.length} rejected during the outage, ${received.size} distinct received, ${duplicates} redelivered`,
    );
  });

  test("core nats broker: subscriptions resume after the restart", { timeout: 60_000 }, async () => {
    const pub = track(createNatsBroker({ address: server.url }));
    const sub = track(createNatsBroker({ address: server.url }));
    const got: string[] = [];
    await sub.subscribe("events.core", (e) => void got.push(dec.decode(e.message.body)));
    await pub.publish("events.core", { header: {}, body: enc.encode("before") });
    await until("delivery before the restart", () => got.includes("before"), 5_000);
    await server.restart({ downMs: 500 });
    let i = 0;
    await until(
      "a delivery after the restart",
      async () => {
        await pub.publish("events.core", { header: {}, body: enc.encode(`after-${i++}`) });
        await sleep(100);
        return got.some((l) => l.startsWith("after-"));
      },
      20_000,
    );
  });

  test("registry: the owner answers again and re-announces itself after the restart", {
    timeout: 60_000,
  }, async () => {
    const owner = track(createNatsRegistry({ address: server.url }));
    const reader = track(createNatsRegistry({ address: server.url }));
    await reader.connect();
    await owner.register({
      name: "fault.svc",
      version: "1",
      endpoints: [],
      nodes: [{ id: "n1", address: "x", metadata: {} }],
    });
    assert.equal((await reader.getService("fault.svc")).length, 1);
    const events: RegistryEvent[] = [];
    const w = reader.watch({ service: "fault.svc" });
    closers.push(async () => w.stop());
    void (async () => {
      for await (const e of w) events.push(e);
    })();
    await server.restart({ downMs: 500 });
    await until("re-announcement after reconnect", () => events.some((e) => e.action === "create"), 20_000);
    await until(
      "getService after the restart",
      async () => (await reader.getService("fault.svc").catch(() => [])).length === 1,
      20_000,
    );
  });

  test("transport: RPC works again after the restart", { timeout: 60_000 }, async () => {
    const registry = track(createNatsRegistry({ address: server.url }));
    const st = track(createNatsTransport({ address: server.url }));
    const ct = track(createNatsTransport({ address: server.url }));
    const srv = createServer({ name: "fault.rpc", registry, transport: st, logger: silentLogger });
    srv.handleFunction("Echo.Call", async (req: never) => req);
    await srv.start();
    closers.push(() => srv.stop());
    const client = track(createClient({ registry, transport: ct, logger: silentLogger }));
    assert.deepEqual(await client.call("fault.rpc", "Echo.Call", { a: 1 }), { a: 1 });
    await server.restart({ downMs: 500 });
    await until(
      "a successful call after the restart",
      async () => {
        try {
          return (
            JSON.stringify(await client.call("fault.rpc", "Echo.Call", { a: 2 }, { timeoutMs: 1_000 })) ===
            '{"a":2}'
          );
        } catch {
          return false;
        }
      },
      20_000,
    );
  });
});
