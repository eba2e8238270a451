import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import type { Broker, BrokerEvent } from "@microts/core";
import { isMicroError } from "@microts/core";
import type { Msg, NatsConnection } from "@nats-io/transport-node";
import { connect } from "@nats-io/transport-node";
import { createNatsBroker } from "./nats-broker.js";

const address = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
const run = randomBytes(4).toString("hex");
const enc = new TextEncoder();
const dec = new TextDecoder();

/** Resolves with the first message on `subject` (the subscription is live when this returns). */
async function nextRaw(nc: NatsConnection, subject: string): Promise<() => Promise<Msg>> {
  const sub = nc.subscribe(subject, { max: 1 });
  await nc.flush();
  return async () => {
    for await (const m of sub) return m;
    throw new Error("subscription ended");
  };
}

async function until(what: string, cond: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("nats broker: Go wire format", { timeout: 30_000 }, () => {
  let raw: NatsConnection;
  let broker: Broker;
  before(async () => {
    raw = await connect({ servers: address });
    broker = createNatsBroker({ address });
    await broker.connect();
  });
  after(async () => {
    await broker.disconnect();
    await raw.close();
  });

  test("publish writes Go's json(broker.Message): sorted header keys, HTML escaping, base64 body", async () => {
    const topic = `wire.${run}.out`;
    const got = await nextRaw(raw, topic);
    await broker.publish(topic, {
      header: { "Micro-Topic": topic, "Content-Type": "application/json", b: "<&>", "10": "x", "9": "y" },
      body: enc.encode('{"a":1}\n'),
    });
    const m = await got();
    assert.equal(
      dec.decode(m.data),
      `{"Header":{"10":"x","9":"y","Content-Type":"application/json","Micro-Topic":"${topic}","b":"\\u003c\\u0026\\u003e"},"Body":"eyJhIjoxfQo="}`,
    );
    assert.equal(m.headers, undefined, "no NATS headers: Go's broker sends plain PUB");
  });

  test("an empty body is an empty base64 string", async () => {
    const topic = `wire.${run}.empty`;
    const got = await nextRaw(raw, topic);
    await broker.publish(topic, { header: {}, body: new Uint8Array(0) });
    assert.equal(dec.decode((await got()).data), '{"Header":{},"Body":""}');
  });

  test("a Go-published envelope reaches the subscriber with its header and body", async () => {
    const topic = `wire.${run}.in`;
    const events: BrokerEvent[] = [];
    const sub = await broker.subscribe(topic, (e) => {
      events.push(e);
    });
    // What Go's nats broker publishes for client.Publish of {"say":"hi"} (json codec adds "\n").
    raw.publish(
      topic,
      `{"Header":{"Content-Type":"application/json","Micro-Id":"7d2c","Micro-Topic":"${topic}"},"Body":"eyJzYXkiOiJoaSJ9Cg=="}`,
    );
    raw.publish(topic, '{"Header":null,"Body":null}');
    await until("two deliveries", () => events.length >= 2);
    const [first, second] = events as [BrokerEvent, BrokerEvent];
    assert.equal(first.topic, topic);
    assert.deepEqual(first.message.header, {
      "Content-Type": "application/json",
      "Micro-Id": "7d2c",
      "Micro-Topic": topic,
    });
    assert.equal(dec.decode(first.message.body), '{"say":"hi"}\n');
    assert.deepEqual(second.message.header, {});
    assert.equal(second.message.body.byteLength, 0);
    await sub.unsubscribe();
  });

  test("undecodable payloads go to onError as 400 and later messages still flow", async () => {
    const topic = `wire.${run}.garbage`;
    const errors: unknown[] = [];
    const bodies: string[] = [];
    const sub = await broker.subscribe(topic, (e) => void bodies.push(dec.decode(e.message.body)), {
      onError: (err) => errors.push(err),
    });
    raw.publish(topic, "not json at all");
    raw.publish(topic, '{"Header":{"a":1},"Body":"AA=="}');
    raw.publish(topic, '{"Header":{},"Body":"***"}');
    raw.publish(topic, "[1,2]");
    await broker.publish(topic, { header: {}, body: enc.encode("fine") });
    await until("the valid message", () => bodies.length === 1);
    await until("four errors", () => errors.length === 4);
    assert.ok(
      errors.every((e) => isMicroError(e, 400)),
      "each undecodable payload is a MicroError 400",
    );
    assert.deepEqual(bodies, ["fine"]);
    await sub.unsubscribe();
  });

  test("async handlers of one subscription run one at a time, in publish order", async () => {
    const topic = `test.${run}.order`;
    const seen: number[] = [];
    let running = 0;
    let overlapped = false;
    const sub = await broker.subscribe(topic, async (e: BrokerEvent) => {
      running++;
      if (running > 1) overlapped = true;
      const n = Number(dec.decode(e.message.body));
      // Uneven work: a later message would overtake an earlier one if handlers overlapped.
      await new Promise((r) => setTimeout(r, n % 3 === 0 ? 5 : 0));
      seen.push(n);
      running--;
    });
    for (let i = 0; i < 30; i++) await broker.publish(topic, { header: {}, body: enc.encode(String(i)) });
    await until("30 deliveries", () => seen.length === 30);
    await sub.unsubscribe();
    assert.deepEqual(
      seen,
      Array.from({ length: 30 }, (_, i) => i),
    );
    assert.equal(overlapped, false);
  });

  test("unsubscribe from inside a handler does not wait for that handler", async () => {
    const topic = `test.${run}.self-unsub`;
    let done = false;
    const sub = await broker.subscribe(topic, async () => {
      await new Promise((r) => setTimeout(r, 5));
      await sub.unsubscribe();
      done = true;
    });
    await broker.publish(topic, { header: {}, body: enc.encode("x") });
    await until("the handler to finish", () => done);
  });

  test("wildcard subscriptions get the concrete subject as topic", async () => {
    const topics: string[] = [];
    const sub = await broker.subscribe(`wild.${run}.*`, (e) => void topics.push(e.topic));
    await broker.publish(`wild.${run}.a`, { header: {}, body: enc.encode("1") });
    await broker.publish(`wild.${run}.b`, { header: {}, body: enc.encode("2") });
    await until("two deliveries", () => topics.length === 2);
    assert.deepEqual(topics, [`wild.${run}.a`, `wild.${run}.b`]);
    await sub.unsubscribe();
  });

  test("a queue subscriber shares a group with a Go-style raw queue subscriber", async () => {
    const topic = `wire.${run}.queue`;
    const queue = "workers";
    let ours = 0;
    let theirs = 0;
    const rawSub = raw.subscribe(topic, { queue, callback: () => void theirs++ });
    await raw.flush();
    const sub = await broker.subscribe(topic, () => void ours++, { queue });
    for (let i = 0; i < 40; i++) await broker.publish(topic, { header: {}, body: enc.encode(String(i)) });
    await until("40 deliveries", () => ours + theirs === 40);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(ours + theirs, 40, "each message exactly once in the group");
    rawSub.unsubscribe();
    await sub.unsubscribe();
  });

  test("publish refuses at once what NATS would refuse: bad subject or oversize 400, closed connection 503", async () => {
    const msg = { header: {}, body: enc.encode("x") };
    await assert.rejects(broker.publish(`bad ${run}`, msg), (e: unknown) => isMicroError(e, 400));
    const max = raw.info?.max_payload ?? 1024 * 1024;
    await assert.rejects(
      broker.publish(`wire.${run}.big`, { header: {}, body: new Uint8Array(max) }),
      (e: unknown) => isMicroError(e, 400) && /max_payload/.test(e.message),
    );
    const shared = await connect({ servers: address });
    const b = createNatsBroker({ connection: shared });
    await b.connect();
    await shared.close();
    await assert.rejects(b.publish(`wire.${run}.closed`, msg), (e: unknown) => isMicroError(e, 503));
    await b.disconnect();
  });

  test("publishes awaited one by one arrive in order, and disconnect right after sends them all", async () => {
    const topic = `wire.${run}.burst`;
    const got: string[] = [];
    const sub = raw.subscribe(topic, { callback: (_err, m) => void got.push(dec.decode(m.data)) });
    await raw.flush();
    const b = createNatsBroker({ address });
    await b.connect();
    for (let i = 0; i < 500; i++) await b.publish(topic, { header: {}, body: enc.encode(String(i)) });
    await b.disconnect();
    await until("500 messages", () => got.length === 500);
    const bodies = got.map((t) => dec.decode(Buffer.from(JSON.parse(t).Body, "base64")));
    assert.deepEqual(
      bodies,
      Array.from({ length: 500 }, (_, i) => String(i)),
    );
    sub.unsubscribe();
  });

  test("an unreachable server is a 503 from connect", async () => {
    const b = createNatsBroker({ address: "nats://127.0.0.1:1", connectTimeoutMs: 2_000 });
    await assert.rejects(b.connect(), (e: unknown) => isMicroError(e, 503));
    await b.disconnect();
  });

  test("the address option takes a comma-separated server list", async () => {
    const b = createNatsBroker({ address: `nats://127.0.0.1:1, ${address}` });
    const topic = `wire.${run}.list`;
    const got = await nextRaw(raw, topic);
    await b.publish(topic, { header: {}, body: enc.encode("via list") });
    assert.match(dec.decode((await got()).data), /"Body":"dmlhIGxpc3Q="/);
    await b.disconnect();
  });
});
