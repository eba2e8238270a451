import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, describe, test } from "node:test";
import type { Broker, BrokerEvent } from "@microts/core";
import { MicroError } from "@microts/core";
import { startMosquitto } from "@microts/testing/servers/mosquitto";
import { connectAsync, type MqttClient } from "mqtt";
import { createMqttBroker, type MqttBrokerOptions } from "./index.js";

// Wire format against the shared Mosquitto (unique topics); persistent-session behaviour against a
// private one.
const shared = "mqtt://127.0.0.1:1883";
const run = randomBytes(4).toString("hex");
const brokers: Broker[] = [];
const raws: MqttClient[] = [];
const broker = (extra: MqttBrokerOptions = {}): Broker => {
  const b = createMqttBroker({ address: shared, ...extra });
  brokers.push(b);
  return b;
};
const text = (e: BrokerEvent) => Buffer.from(e.message.body).toString();
const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, check: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) assert.fail(`${what}: not reached within ${ms} ms`);
    await delay(20);
  }
}

after(async () => {
  await Promise.allSettled(brokers.map((b) => b.disconnect()));
  await Promise.allSettled(raws.map((c) => c.endAsync(true)));
});

describe("mqtt broker: wire format", () => {
  test("publish sends Go's envelope on the topic as is ('.' is an ordinary character)", {
    timeout: 10_000,
  }, async () => {
    const topic = `user.created.${run}`;
    const raw = await connectAsync(shared, { protocolVersion: 5 });
    raws.push(raw);
    const got: Buffer[] = [];
    raw.on("message", (t, payload) => {
      if (t === topic) got.push(payload);
    });
    await raw.subscribeAsync(topic, { qos: 1 });
    await broker().publish(topic, {
      header: { "Micro-Topic": topic, "Content-Type": "application/json", B: "<&>" },
      body: new TextEncoder().encode('{"say":"hi"}\n'),
    });
    await until("raw subscriber got it", () => got.length === 1, 5_000);
    assert.equal(
      got[0]?.toString(),
      `{"Header":{"B":"\\u003c\\u0026\\u003e","Content-Type":"application/json","Micro-Topic":"${topic}"},` +
        `"Body":"eyJzYXkiOiJoaSJ9Cg=="}`,
    );
  });

  test("envelopes from other publishers are delivered; garbage goes to onError and is acked", {
    timeout: 10_000,
  }, async () => {
    const topic = `wire/in/${run}`;
    const got: BrokerEvent[] = [];
    const errors: unknown[] = [];
    await broker().subscribe(topic, (e) => void got.push(e), { onError: (e) => errors.push(e) });
    const raw = await connectAsync(shared, { protocolVersion: 5 });
    raws.push(raw);
    for (const m of [
      "garbage",
      '{"Header":{"Micro-Id":"1"},"Body":"aGVsbG8="}',
      '{"Header":null,"Body":null}',
    ]) {
      await raw.publishAsync(topic, m, { qos: 1 });
    }
    await until("two messages", () => got.length === 2, 5_000);
    assert.deepEqual(got[0]?.message.header, { "Micro-Id": "1" });
    assert.equal(text(got[0] as BrokerEvent), "hello");
    assert.equal(got[0]?.topic, topic);
    assert.equal(got[1]?.message.body.byteLength, 0);
    assert.equal(errors.length, 1);
    assert.ok(errors[0] instanceof MicroError && errors[0].code === 400);
  });

  test("queue groups are MQTT 5 shared subscriptions: a raw $share member takes part", {
    timeout: 10_000,
  }, async () => {
    const topic = `shared/${run}`;
    const raw = await connectAsync(shared, { protocolVersion: 5 });
    raws.push(raw);
    let rawCount = 0;
    raw.on("message", () => rawCount++);
    await raw.subscribeAsync(`$share/workers/${topic}`, { qos: 1 });
    let ours = 0;
    await broker().subscribe(topic, () => void ours++, { queue: "workers" });
    const pub = broker();
    for (let i = 0; i < 20; i++) await pub.publish(topic, { header: {}, body: new Uint8Array([i]) });
    await until("all 20 split between the members", () => rawCount + ours === 20, 5_000);
    await delay(200);
    assert.equal(rawCount + ours, 20);
    assert.ok(rawCount > 0 && ours > 0, `both members got some (raw ${rawCount}, ours ${ours})`);
  });

  test("bad input: wildcard in a publish topic, empty topic, bad share name → 400", async () => {
    const b = broker();
    const isBadRequest = (e: unknown) => e instanceof MicroError && e.code === 400;
    await assert.rejects(b.publish("a/+", { header: {}, body: new Uint8Array() }), isBadRequest);
    await assert.rejects(b.publish("", { header: {}, body: new Uint8Array() }), isBadRequest);
    await assert.rejects(
      b.subscribe("a", () => {}, { queue: "a/b" }),
      isBadRequest,
    );
  });

  test("an unreachable server gives MicroError 503 within the deadline", { timeout: 10_000 }, async () => {
    const b = createMqttBroker({ address: "127.0.0.1:1", timeoutMs: 1_500 });
    await assert.rejects(
      b.publish("x", { header: {}, body: new Uint8Array() }),
      (e: unknown) => e instanceof MicroError && e.code === 503,
    );
    await b.disconnect();
  });
});

describe("mqtt broker: persistent sessions (clean: false)", () => {
  test("a delivery not acked before the subscriber went away is resent when its session resumes", {
    timeout: 30_000,
  }, async () => {
    await using server = await startMosquitto();
    const opts = { address: server.url, clean: false, clientId: `microts-${run}` };
    const first = createMqttBroker(opts);
    const seen: BrokerEvent[] = [];
    await first.subscribe("jobs", (e) => void seen.push(e), { autoAck: false });
    const pub = createMqttBroker({ address: server.url });
    await pub.publish("jobs", { header: {}, body: new TextEncoder().encode("job-1") });
    await until("first delivery", () => seen.length === 1, 5_000);
    assert.equal(seen[0]?.redelivered, 0);
    await first.disconnect(); // never acked: no PUBACK was sent
    await pub.publish("jobs", { header: {}, body: new TextEncoder().encode("job-2") }); // queued in the session

    const second = createMqttBroker(opts);
    const again: BrokerEvent[] = [];
    await second.subscribe("jobs", async (e) => void again.push(e));
    await until("both come back", () => again.length === 2, 10_000);
    assert.deepEqual(again.map(text), ["job-1", "job-2"]);
    assert.equal(again[0]?.redelivered, 1, "the resent one carries DUP");
    await second.disconnect();

    // Acked this time: a third session resume gets nothing.
    const third = createMqttBroker(opts);
    const none: BrokerEvent[] = [];
    const s = await third.subscribe("jobs", (e) => void none.push(e));
    await delay(500);
    assert.deepEqual(none.map(text), []);
    await s.unsubscribe();
    await Promise.all([third.disconnect(), pub.disconnect()]);
  });

  test("nack() in a persistent session gets the message resent; nack(false) drops it", {
    timeout: 30_000,
  }, async () => {
    await using server = await startMosquitto();
    const b = createMqttBroker({ address: server.url, clean: false, clientId: `microts-nack-${run}` });
    const seen: Array<[string, number | undefined]> = [];
    await b.subscribe(
      "work",
      async (e) => {
        seen.push([text(e), e.redelivered]);
        if (text(e) === "retry" && e.redelivered === 0) await e.nack();
        else if (text(e) === "drop") await e.nack(false);
        else await e.ack();
      },
      { autoAck: false },
    );
    const pub = createMqttBroker({ address: server.url });
    await pub.publish("work", { header: {}, body: new TextEncoder().encode("retry") });
    await until("resent after the nack", () => seen.length >= 2, 10_000);
    await pub.publish("work", { header: {}, body: new TextEncoder().encode("drop") });
    await pub.publish("work", { header: {}, body: new TextEncoder().encode("last") });
    await until("last", () => seen.some(([t]) => t === "last"), 10_000);
    await delay(300);
    assert.deepEqual(seen, [
      ["retry", 0],
      ["retry", 1],
      ["drop", 0],
      ["last", 0],
    ]);
    await Promise.all([b.disconnect(), pub.disconnect()]);
  });
});
