import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Broker } from "@microts/core";
import { type RabbitmqServer, startRabbitmqServer } from "@microts/testing/servers/rabbitmq";
import { createRabbitmqBroker } from "./rabbitmq-broker.js";
import { unique } from "./test-util.js";

// Broker restarts under load, on a private RabbitMQ node (never the shared one): confirmed
// messages to a durable queue group survive, consumers resume, publishes during the outage wait.

const N = 200;
const CONCURRENCY = 10;
let server: RabbitmqServer;

before(async () => {
  server = await startRabbitmqServer();
  console.log(
    `private rabbitmq node ${server.nodeName} on ${server.port}: started in ${server.lastStartupMs} ms`,
  );
});
after(async () => {
  await server?.stop();
});

function make(exchange: string): Broker {
  return createRabbitmqBroker({
    address: server.url,
    exchange: { name: exchange, durable: true },
    prefetch: 50,
    reconnect: { initialDelayMs: 100, maxDelayMs: 1000 },
  });
}

async function publishDuringRestart(restart: () => Promise<void>, label: string): Promise<void> {
  const exchange = unique("micro-fault");
  const topic = unique("fault.topic");
  const queue = unique("fault-group");
  const sub = make(exchange);
  const pub = make(exchange);
  try {
    const received = new Map<string, number>();
    await sub.subscribe(
      topic,
      (e) => {
        const id = e.message.header["X-Msg-Id"] ?? "?";
        received.set(id, (received.get(id) ?? 0) + 1);
      },
      { queue },
    );
    const confirmed = new Set<string>();
    const failed: string[] = [];
    let next = 0;
    let restarted: Promise<void> | undefined;
    const worker = async () => {
      while (next < N) {
        const i = next++;
        if (i === 60) restarted = restart();
        const id = `m-${i}`;
        try {
          await pub.publish(
            topic,
            { header: { "X-Msg-Id": id }, body: Buffer.from(`payload ${i}`) },
            { timeoutMs: 30_000 },
          );
          confirmed.add(id);
        } catch (err) {
          failed.push(`${id}: ${err instanceof Error ? err.message : String(err)}`);
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    await restarted;
    const missing = () => [...confirmed].filter((id) => !received.has(id));
    const deadline = Date.now() + 30_000;
    while (missing().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const duplicates = [...received.values()].reduce((n, c) => n + (c - 1), 0);
    console.log(
      `${label}: published ${N}, confirmed ${confirmed.size}, failed ${failed.length}, ` +
        `received ${received.size} distinct, duplicates ${duplicates}`,
    );
    if (failed.length > 0) console.log(`${label}: failures: ${failed.slice(0, 5).join("; ")}`);
    assert.deepEqual(missing(), [], "every confirmed message is received at least once");
    // Each publish waited for the reconnection rather than failing.
    assert.equal(confirmed.size, N, "all publishes confirmed after the broker came back");

    // Consumers resumed: a message published now still arrives.
    await pub.publish(topic, { header: { "X-Msg-Id": "after" }, body: Buffer.from("after") });
    const until = Date.now() + 10_000;
    while (!received.has("after") && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    assert.ok(received.has("after"), "the subscriber resumed after the restart");
  } finally {
    await sub.disconnect();
    await pub.disconnect();
  }
}

describe("rabbitmq broker across broker restarts (private node)", () => {
  test("graceful restart (SIGTERM) during 200 confirmed publishes", { timeout: 120_000 }, async () => {
    await publishDuringRestart(() => server.restart(), "graceful restart");
  });

  test("hard kill (SIGKILL) and restart during 200 confirmed publishes", { timeout: 120_000 }, async () => {
    await publishDuringRestart(() => server.restart({ hard: true }), "kill -9 restart");
  });

  test("stop_app/start_app: broadcast subscriber resumes on a new queue", { timeout: 60_000 }, async () => {
    const exchange = unique("micro-fault");
    const topic = unique("fault.broadcast");
    const sub = make(exchange);
    const pub = make(exchange);
    try {
      const got: string[] = [];
      await sub.subscribe(topic, (e) => void got.push(Buffer.from(e.message.body).toString()));
      await pub.publish(topic, { header: {}, body: Buffer.from("before") });
      await server.stopApp();
      // While the node is down a publish with a short deadline fails loudly (408), never silently.
      await assert.rejects(
        pub.publish(topic, { header: {}, body: Buffer.from("lost") }, { timeoutMs: 300 }),
        {
          code: 408,
        },
      );
      await server.startApp();
      // Resubscription happens in the background: publish until the new queue is bound.
      const until = Date.now() + 20_000;
      while (!got.includes("after") && Date.now() < until) {
        await pub.publish(topic, { header: {}, body: Buffer.from("after") }, { timeoutMs: 20_000 });
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.ok(got.includes("before"));
      assert.ok(got.includes("after"), "broadcast subscriber resumed");
    } finally {
      await sub.disconnect();
      await pub.disconnect();
    }
  });
});
