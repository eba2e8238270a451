import assert from "node:assert/strict";
import { test } from "node:test";
import type { BrokerMessage } from "@microts/core";
import { startRedisServer } from "@microts/testing/servers/redis";
import { createRedisBroker } from "./index.js";

// Restarts a PRIVATE redis-server (AOF on, so streams and groups survive) under a running
// publisher and subscribers. The adapter must reconnect by itself: the queue group must receive every
// message whose publish resolved (at least once); the broadcast subscriber must resume.

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));
const msg = (i: number): BrokerMessage => ({
  header: { N: String(i) },
  body: new TextEncoder().encode(String(i)),
});

async function until(what: string, check: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) assert.fail(`${what}: not reached within ${ms} ms`);
    await delay(25);
  }
}

test("redis broker survives a server restart: queue group at-least-once, broadcast resumes", {
  timeout: 90_000,
}, async () => {
  await using server = await startRedisServer();
  const options = { address: server.url, claimIdleMs: 1_000, blockMs: 300, timeoutMs: 3_000 };
  const sub = createRedisBroker(options);
  const pub = createRedisBroker(options);
  try {
    const topic = "faults.restart";
    const queued = new Map<number, number>();
    const broadcast = new Set<number>();
    const errors: unknown[] = [];
    await sub.subscribe(
      topic,
      (e) => {
        const n = Number(e.message.header.N);
        queued.set(n, (queued.get(n) ?? 0) + 1);
      },
      { queue: "workers", onError: (err) => errors.push(err) },
    );
    await sub.subscribe(topic, (e) => void broadcast.add(Number(e.message.header.N)));

    const total = 300;
    const resolved = new Set<number>();
    let failed = 0;
    let restartedAt = -1;
    const publisher = (async () => {
      for (let i = 0; i < total; i++) {
        try {
          await pub.publish(topic, msg(i), { timeoutMs: 3_000 });
          resolved.add(i);
        } catch {
          failed++;
        }
        await delay(10);
      }
    })();
    await until("100 published before the restart", () => resolved.size >= 100, 30_000);
    restartedAt = resolved.size;
    await server.restart({ downMs: 1_000 });
    await publisher;

    const missing = () => [...resolved].filter((n) => !queued.has(n));
    await until(
      `queue group received every resolved publish (${missing().length} missing)`,
      () => missing().length === 0,
      30_000,
    );
    const duplicates = [...queued.values()].reduce((n, c) => n + (c > 1 ? c - 1 : 0), 0);
    const after = [...broadcast].filter((n) => n > restartedAt + 20);
    console.log(
      `redis restart: published ${total}, resolved ${resolved.size}, failed ${failed}, ` +
        `queue received ${queued.size} distinct (+${duplicates} duplicates), broadcast received ${broadcast.size} ` +
        `(${after.length} after the restart), reader errors reported ${errors.length}`,
    );
    assert.deepEqual(missing(), []);
    assert.ok(resolved.size > 250, `most publishes resolved (${resolved.size})`);
    assert.ok(broadcast.has(total - 1), "the broadcast subscriber resumed (got the last message)");
  } finally {
    await Promise.allSettled([sub.disconnect(), pub.disconnect()]);
  }
});

test("a queue subscriber started while the server is down catches up once it is back", {
  timeout: 60_000,
}, async () => {
  await using server = await startRedisServer();
  const options = { address: server.url, claimIdleMs: 1_000, blockMs: 300, timeoutMs: 3_000 };
  const sub = createRedisBroker(options);
  const pub = createRedisBroker(options);
  try {
    const got = new Set<number>();
    await sub.subscribe("faults.down", (e) => void got.add(Number(e.message.header.N)), { queue: "q" });
    await pub.publish("faults.down", msg(1));
    await until("first message", () => got.has(1), 5_000);
    // Down long enough for the reader's blocking call to be cut and retried several times.
    await server.restart({ downMs: 3_000 });
    await pub.publish("faults.down", msg(2), { timeoutMs: 10_000 });
    await until("message after the outage", () => got.has(2), 10_000);
  } finally {
    await Promise.allSettled([sub.disconnect(), pub.disconnect()]);
  }
});
