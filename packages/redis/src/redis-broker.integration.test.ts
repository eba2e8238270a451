import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { after, describe, test } from "node:test";
import type { Broker, BrokerEvent } from "@microts/core";
import { MicroError } from "@microts/core";
import { Redis } from "ioredis";
import { createRedisBroker, type RedisBrokerOptions } from "./index.js";

// Wire format and Streams behaviour against the machine's shared Redis (unique keys per run).
const address = "redis://127.0.0.1:6379";
const run = randomBytes(4).toString("hex");
const streamPrefix = `microts-test:${run}:`;
const brokers: Broker[] = [];
const raw: Redis[] = [];

const broker = (extra: RedisBrokerOptions = {}): Broker => {
  const b = createRedisBroker({ address, streamPrefix, ...extra });
  brokers.push(b);
  return b;
};
const rawClient = (): Redis => {
  const r = new Redis(address, { protocol: 2 });
  raw.push(r);
  return r;
};
const topicName = (what: string) => `${what}.${run}.${randomBytes(3).toString("hex")}`;
const text = (e: BrokerEvent) => Buffer.from(e.message.body).toString();

async function until(what: string, check: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) assert.fail(`${what}: not reached within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

after(async () => {
  await Promise.allSettled(brokers.map((b) => b.disconnect()));
  const r = new Redis(address, { protocol: 2 });
  const keys = await r.keys(`${streamPrefix}*`);
  if (keys.length > 0) await r.del(...keys);
  r.disconnect();
  for (const c of raw) c.disconnect();
});

describe("redis broker: loading", () => {
  test("importing the package does not load ioredis; the first connect does", { timeout: 20_000 }, () => {
    // A fresh process: ioredis slows string methods process-wide once loaded (see loadRedis).
    const script = `
      import { createRequire } from "node:module";
      const loaded = () => Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes("/ioredis/"));
      const { createRedisBroker } = await import("@microts/redis");
      const b = createRedisBroker({ address: ${JSON.stringify(address)} });
      const before = loaded();
      await b.connect({ timeoutMs: 5000 });
      const after = loaded();
      await b.disconnect();
      console.log(JSON.stringify({ before, after }));
    `;
    const out = execFileSync(
      process.execPath,
      [...process.execArgv.filter((a) => !a.startsWith("--test")), "--input-type=module", "-e", script],
      { cwd: new URL(".", import.meta.url), encoding: "utf8", timeout: 15_000 },
    );
    assert.deepEqual(JSON.parse(out.trim().split("\n").pop() ?? ""), { before: false, after: true });
  });
});

describe("redis broker: wire format", () => {
  test("publish writes Go's envelope to the channel and to the stream field m", {
    timeout: 10_000,
  }, async () => {
    const topic = topicName("wire.out");
    const sub = rawClient();
    const got: string[] = [];
    sub.on("message", (_ch: string, m: string) => got.push(m));
    await sub.subscribe(topic);
    // A queue group exists (made as redis-cli would), so the publish also goes to the stream.
    await rawClient().xgroup("CREATE", `${streamPrefix}${topic}`, "g", "$", "MKSTREAM");
    const b = broker();
    await b.publish(topic, {
      header: { "Micro-Topic": topic, "Content-Type": "application/json", B: "<&>" },
      body: new TextEncoder().encode('{"say":"hi"}\n'),
    });
    const expected =
      `{"Header":{"B":"\\u003c\\u0026\\u003e","Content-Type":"application/json","Micro-Topic":"${topic}"},` +
      `"Body":"eyJzYXkiOiJoaSJ9Cg=="}`;
    await until("raw pub/sub subscriber got the envelope", () => got.length === 1, 5_000);
    assert.equal(got[0], expected);
    // The stream as redis-cli sees it: id, field "m", the same envelope.
    const out = execFileSync("redis-cli", [
      "--raw",
      "XRANGE",
      `${streamPrefix}${topic}`,
      "-",
      "+",
    ]).toString();
    const lines = out.trim().split("\n");
    assert.equal(lines.length, 3, out);
    assert.match(lines[0] ?? "", /^\d+-\d+$/);
    assert.equal(lines[1], "m");
    assert.equal(lines[2], expected);
  });

  test("envelopes written by other producers (Go, redis-cli) are delivered; garbage goes to onError", {
    timeout: 10_000,
  }, async () => {
    const topic = topicName("wire.in");
    const b = broker();
    const plain: BrokerEvent[] = [];
    const queued: BrokerEvent[] = [];
    const errors: unknown[] = [];
    await b.subscribe(topic, (e) => void plain.push(e), { onError: (e) => errors.push(e) });
    await b.subscribe(topic, (e) => void queued.push(e), { queue: "g", onError: (e) => errors.push(e) });
    const r = rawClient();
    const goEnvelope = '{"Header":{"Micro-Topic":"x","Micro-Id":"1"},"Body":"aGVsbG8="}';
    // Go writes nil maps/slices as null.
    const nulls = '{"Header":null,"Body":null}';
    for (const m of ["not json", '{"Header":{"a":1},"Body":""}', goEnvelope, nulls]) {
      await r.publish(topic, m);
      await r.xadd(`${streamPrefix}${topic}`, "*", "m", m);
    }
    await until("both valid envelopes, both ways", () => plain.length === 2 && queued.length === 2, 5_000);
    for (const list of [plain, queued]) {
      assert.deepEqual(list[0]?.message.header, { "Micro-Topic": "x", "Micro-Id": "1" });
      assert.equal(text(list[0] as BrokerEvent), "hello");
      assert.deepEqual(list[1]?.message.header, {});
      assert.equal(list[1]?.message.body.byteLength, 0);
    }
    await until("four decode errors", () => errors.length === 4, 2_000);
    for (const e of errors) assert.ok(e instanceof MicroError && e.code === 400, String(e));
    // Poison entries are acked away, not left to be reclaimed forever. (The valid entries' acks
    // are sent after their handlers return and may still be on their way: wait for them.)
    const pendingCount = async () => ((await r.xpending(`${streamPrefix}${topic}`, "g")) as unknown[])[0];
    const end = Date.now() + 2_000;
    let pending = await pendingCount();
    while (pending !== 0 && Date.now() < end) {
      await delay(20);
      pending = await pendingCount();
    }
    assert.equal(pending, 0);
  });
});

describe("redis broker: streams consumer groups", () => {
  test("entries pending at a consumer that left are reclaimed by another member", {
    timeout: 15_000,
  }, async () => {
    const topic = topicName("reclaim");
    const opts = { claimIdleMs: 400, blockMs: 200 };
    const dying = broker(opts);
    const taken: BrokerEvent[] = [];
    const s1 = await dying.subscribe(topic, (e) => void taken.push(e), { queue: "workers", autoAck: false });
    const pub = broker();
    for (const l of ["a", "b", "c"])
      await pub.publish(topic, { header: {}, body: new TextEncoder().encode(l) });
    await until("the first consumer took all three", () => taken.length === 3, 5_000);
    assert.deepEqual(
      taken.map((e) => e.redelivered),
      [0, 0, 0],
    );
    // It never acks and goes away (as a crash would): its entries stay pending.
    await s1.unsubscribe();
    await dying.disconnect();

    const heir = broker(opts);
    const got: BrokerEvent[] = [];
    const t0 = Date.now();
    await heir.subscribe(topic, (e) => void got.push(e), { queue: "workers" });
    await until("the second consumer got the orphaned entries", () => got.length === 3, 5_000);
    assert.deepEqual(got.map(text), ["a", "b", "c"]);
    assert.deepEqual(
      got.map((e) => e.redelivered),
      [1, 1, 1],
    );
    assert.ok(Date.now() - t0 < 3_000, "reclaimed within a few claimIdleMs");
    await delay(200);
    const r = rawClient();
    const summary = (await r.xpending(`${streamPrefix}${topic}`, "workers")) as unknown[];
    assert.equal(summary[0], 0, "nothing pending once the heir auto-acked");
  });

  test("nack() redelivers after claimIdleMs; nack(false) drops; redelivered counts", {
    timeout: 15_000,
  }, async () => {
    const topic = topicName("nack");
    const b = broker({ claimIdleMs: 300, blockMs: 100 });
    const seen: Array<[string, number | undefined]> = [];
    await b.subscribe(
      topic,
      async (e) => {
        seen.push([text(e), e.redelivered]);
        if (text(e) === "retry" && e.redelivered === 0) await e.nack();
        else if (text(e) === "drop") await e.nack(false);
        else await e.ack();
      },
      { queue: "q", autoAck: false },
    );
    const pub = broker();
    await pub.publish(topic, { header: {}, body: new TextEncoder().encode("retry") });
    await pub.publish(topic, { header: {}, body: new TextEncoder().encode("drop") });
    await until("the retried message came back", () => seen.length >= 3, 5_000);
    await delay(900);
    assert.deepEqual(seen, [
      ["retry", 0],
      ["drop", 0],
      ["retry", 1],
    ]);
  });

  test("a handler that throws under autoAck leaves the entry pending for redelivery", {
    timeout: 15_000,
  }, async () => {
    const topic = topicName("throws");
    const b = broker({ claimIdleMs: 300, blockMs: 100 });
    let calls = 0;
    const errors: unknown[] = [];
    await b.subscribe(
      topic,
      () => {
        calls++;
        if (calls === 1) throw new Error("transient");
      },
      { queue: "q", onError: (e) => errors.push(e) },
    );
    await broker().publish(topic, { header: {}, body: new Uint8Array([1]) });
    await until("second attempt", () => calls === 2, 5_000);
    assert.equal(errors.length, 1);
  });

  test("unsubscribe wakes the blocked read at once and forgets a consumer with nothing pending", {
    timeout: 15_000,
  }, async () => {
    const topic = topicName("unsub");
    const b = broker({ blockMs: 5_000 });
    const s = await b.subscribe(topic, () => {}, { queue: "q" });
    await delay(300); // the reader is now inside XREADGROUP BLOCK 5000
    const t0 = Date.now();
    await s.unsubscribe();
    assert.ok(Date.now() - t0 < 1_000, `unsubscribe took ${Date.now() - t0} ms`);
    const consumers = (await rawClient().call(
      "XINFO",
      "CONSUMERS",
      `${streamPrefix}${topic}`,
      "q",
    )) as unknown[];
    assert.equal(consumers.length, 0);
  });

  test("a group created after a publish starts at the end of the stream ($)", {
    timeout: 10_000,
  }, async () => {
    const topic = topicName("dollar");
    const pub = broker();
    await pub.publish(topic, { header: {}, body: new TextEncoder().encode("old") });
    const got: string[] = [];
    await broker().subscribe(topic, (e) => void got.push(text(e)), { queue: "late" });
    await pub.publish(topic, { header: {}, body: new TextEncoder().encode("new") });
    await until("new message", () => got.length === 1, 5_000);
    await delay(200);
    assert.deepEqual(got, ["new"]);
  });

  test("a topic no queue group ever used gets no stream", async () => {
    const topic = topicName("nostream");
    await broker().publish(topic, { header: {}, body: new TextEncoder().encode("x") });
    assert.equal(await rawClient().exists(`${streamPrefix}${topic}`), 0);
  });

  test("maxLen caps the stream approximately", { timeout: 20_000 }, async () => {
    const topic = topicName("maxlen");
    await rawClient().xgroup("CREATE", `${streamPrefix}${topic}`, "g", "$", "MKSTREAM");
    const b = broker({ maxLen: 100 });
    for (let i = 0; i < 1_000; i++) await b.publish(topic, { header: {}, body: new Uint8Array([i & 255]) });
    const len = await rawClient().xlen(`${streamPrefix}${topic}`);
    assert.ok(len >= 100 && len < 400, `stream length ${len}`);
  });
});

describe("redis broker: errors", () => {
  test("an unreachable server gives MicroError 503 within the deadline", { timeout: 10_000 }, async () => {
    const b = createRedisBroker({ address: "127.0.0.1:1" });
    const t0 = Date.now();
    await assert.rejects(
      b.publish("x", { header: {}, body: new Uint8Array() }, { timeoutMs: 2_000 }),
      (e: unknown) => e instanceof MicroError && (e.code === 503 || e.code === 408),
    );
    assert.ok(Date.now() - t0 < 3_000);
    await b.disconnect();
  });

  test("an aborted publish rejects with 499; an empty topic with 400", { timeout: 10_000 }, async () => {
    const b = broker();
    await assert.rejects(
      b.publish("x", { header: {}, body: new Uint8Array() }, { signal: AbortSignal.abort() }),
      (e: unknown) => e instanceof MicroError && e.code === 499,
    );
    await assert.rejects(
      b.publish("", { header: {}, body: new Uint8Array() }),
      (e: unknown) => e instanceof MicroError && e.code === 400,
    );
  });
});
