import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createMemoryBroker } from "../broker/memory-broker.js";
import type { Context } from "../context/context.js";
import { MicroError } from "../errors/micro-error.js";
import { silentLogger } from "../logger/logger.js";
import { createMemoryRegistry } from "../registry/memory-registry.js";
import { createMemoryTransport } from "../transport/memory-transport.js";
import { readConfig } from "./config.js";
import { parseDuration } from "./duration.js";
import { createService } from "./micro-service.js";
import { defaultPlugins } from "./plugins.js";

function stack() {
  return {
    registry: createMemoryRegistry(),
    broker: createMemoryBroker(),
    transport: createMemoryTransport(),
    logger: silentLogger,
  };
}

describe("Service", () => {
  test("two services call each other; metadata and deadline flow into nested calls", async () => {
    const shared = stack();
    const backend = createService({ name: "backend", ...shared });
    let seen: { user?: string; service?: string; left?: number } = {};
    backend.handle(
      new (class Store {
        async get(_req: unknown, ctx: Context) {
          seen = {
            user: ctx.metadata.get("x-user"),
            service: ctx.metadata.get("micro-service"),
            left: ctx.deadline === undefined ? undefined : ctx.deadline - Date.now(),
          };
          return { value: 42 };
        }
      })(),
    );
    const front = createService({ name: "front", ...shared });
    front.handle(
      new (class Api {
        constructor(private readonly svc: typeof front) {}
        async read(_req: unknown, _ctx: Context) {
          // No metadata or timeout passed by hand: both come from the running handler's context.
          return this.svc.client.call("backend", "Store.Get", {});
        }
      })(front),
    );
    await backend.start();
    await front.start();
    const rsp = await front.client.call(
      "front",
      "Api.Read",
      {},
      { timeoutMs: 2_000, metadata: { "X-User": "ada" } },
    );
    assert.deepEqual(rsp, { value: 42 });
    assert.equal(seen.user, "ada");
    assert.equal(seen.service, "backend", "routing headers are not forwarded from the caller");
    assert.ok(
      seen.left !== undefined && seen.left <= 2_000 && seen.left > 1_000,
      `nested deadline ${seen.left}`,
    );
    await front.stop();
    await backend.stop();
  });

  test("publish reaches subscribers; queue members share, broadcast subscribers all get it", async () => {
    const shared = stack();
    const got: string[] = [];
    const mk = (name: string, queue?: string) => {
      const s = createService({ name, ...shared });
      s.subscribe<{ id: number }>(
        "user.created",
        async (evt, ctx) => {
          got.push(`${name}:${evt.id}:${ctx.metadata.get("micro-topic")}`);
        },
        { queue },
      );
      return s;
    };
    const a1 = mk("a1", "audit");
    const a2 = mk("a2", "audit");
    const b = mk("b");
    for (const s of [a1, a2, b]) await s.start();
    const pub = createService({ name: "pub", ...shared });
    for (let i = 0; i < 4; i++) await pub.client.publish("user.created", { id: i });
    for (let i = 0; i < 100 && got.length < 8; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(got.filter((g) => g.startsWith("b:")).length, 4);
    const audit = got.filter((g) => g.startsWith("a"));
    assert.equal(audit.length, 4, "each event reaches exactly one queue member");
    assert.ok(got.every((g) => g.endsWith(":user.created")));
    for (const s of [a1, a2, b]) await s.stop();
  });

  test("stop waits for in-flight requests, and refuses new ones with a retryable 503", async () => {
    const shared = stack();
    const svc = createService({ name: "slow", ...shared, drainTimeoutMs: 5_000 });
    let finished = false;
    svc.server.handleFunction("Slow.Run", async () => {
      await new Promise((r) => setTimeout(r, 300));
      finished = true;
      return { ok: true };
    });
    await svc.start();
    const caller = createService({ name: "caller", ...shared });
    const inflight = caller.client.call("slow", "Slow.Run", {});
    await new Promise((r) => setTimeout(r, 50));
    await svc.stop();
    assert.equal(finished, true, "stop returned before the in-flight request finished");
    assert.deepEqual(await inflight, { ok: true });
  });

  test("run() serves until its signal aborts, then stops cleanly", async () => {
    const shared = stack();
    const svc = createService({ name: "runner", ...shared });
    svc.server.handleFunction("R.Ping", async () => ({ pong: true }));
    const ac = new AbortController();
    const running = svc.run({ signal: ac.signal, signals: [] });
    const caller = createService({ name: "c", ...shared });
    for (let i = 0; i < 50; i++) {
      try {
        assert.deepEqual(await caller.client.call("runner", "R.Ping", {}), { pong: true });
        break;
      } catch (err) {
        if (!(err instanceof MicroError)) throw err;
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    ac.abort();
    await running;
    await assert.rejects(shared.registry.getService("runner"), { code: 404 });
  });

  test("init applies Go Micro flags and MICRO_* variables; flags win", async () => {
    const svc = createService({ name: "cfg", ...stack() });
    await svc.init({
      argv: ["--server_version=2.0.0", "--register_ttl", "15", "--unrelated", "x"],
      env: {
        MICRO_SERVER_VERSION: "1.0.0",
        MICRO_REGISTER_INTERVAL: "5s",
        MICRO_SERVER_METADATA: "zone=a,tier=web",
      },
    });
    assert.equal(svc.options.version, "2.0.0");
    assert.equal(svc.options.registerTtlMs, 15_000);
    assert.equal(svc.options.registerIntervalMs, 5_000);
    assert.deepEqual(svc.options.metadata, { zone: "a", tier: "web" });
  });

  test("an address without a plugin name goes to the default plugin (--registry_address alone)", async () => {
    const seen: (string | undefined)[] = [];
    const plugins = defaultPlugins();
    plugins.registry.mdns = (config) => {
      seen.push(config.address);
      return createMemoryRegistry();
    };
    plugins.broker.http = () => createMemoryBroker();
    plugins.transport.http = () => createMemoryTransport();
    const svc = createService({ name: "addr", logger: silentLogger, plugins });
    await svc.init({ argv: [], env: { MICRO_REGISTRY_ADDRESS: "224.0.0.251:23456" } });
    assert.deepEqual(seen, ["224.0.0.251:23456"]);
  });

  test("init loads a plugin named by the environment, and rejects unknown names clearly", async () => {
    const svc = createService({ name: "p", ...stack() });
    await svc.init({ argv: [], env: { MICRO_REGISTRY: "memory" } });
    assert.equal(svc.options.registry?.name, "memory");
    const bad = createService({ name: "p2", ...stack() });
    await assert.rejects(bad.init({ argv: [], env: { MICRO_BROKER: "kafka" } }), (err: unknown) => {
      assert.ok(err instanceof MicroError);
      assert.match(err.detail, /unknown broker "kafka" \(known: .*memory.*\)/);
      return true;
    });
  });
});

test("readConfig: URLs name the plugin; bad numbers name the flag", () => {
  const cfg = readConfig([], {
    MICRO_REGISTRY: "etcd://10.1.2.3:2379",
    MICRO_BROKER: "amqp://guest:guest@localhost",
  });
  assert.deepEqual(cfg.registry, { name: "etcd", address: "etcd://10.1.2.3:2379" });
  assert.equal(cfg.broker?.name, "rabbitmq");
  assert.throws(() => readConfig(["--client_retries=-1"], {}), /--client_retries/);
  assert.throws(() => readConfig([], { MICRO_REGISTER_TTL: "soon" }), /--register_ttl/);
});

test("parseDuration reads Go durations and bare seconds", () => {
  assert.equal(parseDuration("1m30s"), 90_000);
  assert.equal(parseDuration("250ms"), 250);
  assert.equal(parseDuration("30"), 30_000);
  assert.equal(parseDuration("1h"), 3_600_000);
  assert.equal(parseDuration("abc"), undefined);
  assert.equal(parseDuration("5x"), undefined);
});
