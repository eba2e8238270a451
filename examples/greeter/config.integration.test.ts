import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { type EtcdServer, startEtcd } from "@microts/testing/servers/etcd";

// The same demo program, switched to real backends by configuration alone (flags/environment,
// as a team moving off one machine would do): no code change between the runs.
function runDemo(env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ["--conditions=@microts/source", "--import", "tsx", new URL("./main.ts", import.meta.url).pathname],
      { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    child.stderr.on("data", (d) => {
      out += d;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 45_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

/** The mDNS group on a random high port: a registry no other test shares. */
function privateMdns(): string {
  return `224.0.0.251:${20_000 + Math.floor(Math.random() * 20_000)}`;
}

function assertDemo(r: { code: number | null; out: string }) {
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /^call: {3}Greeter\.Hello -> Hello Ada$/m);
  assert.match(r.out, /^stream: Greeter\.Count -> 0, 1, 2$/m);
  assert.match(r.out, /^event: {2}user\.created \{"id":1,"name":"Ada"\}/m);
}

describe("switching backends by configuration", { timeout: 240_000 }, () => {
  let etcd: EtcdServer;
  before(async () => {
    etcd = await startEtcd();
  });
  after(async () => {
    await etcd?.stop();
  });

  test("NATS registry, broker and transport", async () => {
    assertDemo(await runDemo({ MICRO_REGISTRY: "nats", MICRO_BROKER: "nats", MICRO_TRANSPORT: "nats" }));
  });

  test("etcd registry (by URL), RabbitMQ broker (amqp:// URL), HTTP transport", async () => {
    assertDemo(
      await runDemo({
        MICRO_REGISTRY: `etcd://${etcd.address}`,
        MICRO_BROKER: "amqp://guest:guest@127.0.0.1:5672",
      }),
    );
  });

  // These two keep the default mDNS registry. Each run gets an mDNS port of its own, so it never
  // finds the greeter of another demo running at the same time (the demo test uses the default).
  test("Redis broker by URL", async () => {
    assertDemo(
      await runDemo({ MICRO_BROKER: "redis://127.0.0.1:6379", MICRO_REGISTRY_ADDRESS: privateMdns() }),
    );
  });

  test("MQTT broker by URL", async () => {
    assertDemo(
      await runDemo({ MICRO_BROKER: "mqtt://127.0.0.1:1883", MICRO_REGISTRY_ADDRESS: privateMdns() }),
    );
  });
});
