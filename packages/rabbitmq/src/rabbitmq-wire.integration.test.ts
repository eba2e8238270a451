import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import type { Broker, BrokerEvent } from "@microts/core";
import { isMicroError } from "@microts/core";
import { type ChannelModel, type ConsumeMessage, connect } from "amqplib";
import { createRabbitmqBroker } from "./rabbitmq-broker.js";
import { SHARED_URL, testBrokers, unique } from "./test-util.js";

// Byte-level compatibility with Go Micro's broker/rabbitmq (reference §3.10.3), checked with a raw
// amqplib client on the shared RabbitMQ, plus acks, prefetch and error mapping.

const brokers = testBrokers();
const open: Broker[] = [];
const conns: ChannelModel[] = [];
after(async () => {
  for (const b of open) await b.disconnect();
  for (const c of conns) await c.close().catch(() => {});
  await brokers.cleanup();
});

async function broker(extra: Parameters<typeof brokers.create>[0] = {}): Promise<Broker> {
  const b = brokers.create(extra);
  open.push(b);
  await b.connect();
  return b;
}

async function raw(): Promise<ChannelModel> {
  const c = await connect(SHARED_URL);
  conns.push(c);
  return c;
}

async function waitUntil(what: string, check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`${what}: not reached within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const text = (b: Uint8Array) => Buffer.from(b).toString("utf8");

describe("rabbitmq broker wire format (Go Micro compatible)", () => {
  test("publish: exchange, routing key = topic, headers as strings, raw body, persistent", {
    timeout: 10_000,
  }, async () => {
    const b = await broker();
    const ch = await (await raw()).createChannel();
    const q = await ch.assertQueue("", { exclusive: true });
    const topic = unique("go.micro.topic");
    await ch.bindQueue(q.queue, brokers.exchange, topic);
    const got: ConsumeMessage[] = [];
    await ch.consume(q.queue, (m) => m && got.push(m), { noAck: true });
    const header = { "Content-Type": "application/json", "Micro-Topic": topic, "Micro-ID": "id-1" };
    await b.publish(topic, { header, body: Buffer.from('{"say":"hi"}\n') });
    await waitUntil("raw consumer got the message", () => got.length === 1);
    const m = got[0]!;
    assert.equal(m.fields.exchange, brokers.exchange);
    assert.equal(m.fields.routingKey, topic);
    assert.deepEqual(m.properties.headers, header, "AMQP headers are exactly the message headers");
    assert.equal(m.content.toString("utf8"), '{"say":"hi"}\n', "body is raw, no JSON envelope");
    assert.equal(m.properties.deliveryMode, 2, "persistent by default (durable queue groups)");
  });

  test("publish with persistent: false leaves the delivery mode unset like Go", {
    timeout: 10_000,
  }, async () => {
    const b = await broker({ persistent: false });
    const ch = await (await raw()).createChannel();
    const q = await ch.assertQueue("", { exclusive: true });
    const topic = unique("transient");
    await ch.bindQueue(q.queue, brokers.exchange, topic);
    const got: ConsumeMessage[] = [];
    await ch.consume(q.queue, (m) => m && got.push(m), { noAck: true });
    await b.publish(topic, { header: {}, body: new Uint8Array([1, 2, 3]) });
    await waitUntil("raw consumer got the message", () => got.length === 1);
    assert.notEqual(got[0]!.properties.deliveryMode, 2);
    assert.deepEqual([...got[0]!.content], [1, 2, 3]);
  });

  test("a Go-style raw publish reaches a subscriber with headers and body intact", {
    timeout: 10_000,
  }, async () => {
    const b = await broker();
    const topic = unique("from.go");
    const events: BrokerEvent[] = [];
    await b.subscribe(topic, (e) => void events.push(e));
    const ch = await (await raw()).createConfirmChannel();
    const body = Buffer.from([0, 255, 1, 254]);
    ch.publish(brokers.exchange, topic, body, {
      headers: {
        "Content-Type": "application/protobuf",
        "Micro-Topic": topic,
        "Micro-ID": "abc",
        "X-Count": 42,
        "X-Flag": true,
        "X-Bytes": Buffer.from("bytes!"),
      },
    });
    await ch.waitForConfirms();
    // Without Micro-Topic the subscriber fills it from the routing key, as Go does.
    ch.publish(brokers.exchange, topic, Buffer.from("second"), { headers: { "Content-Type": "text/plain" } });
    ch.publish(brokers.exchange, topic, Buffer.from("third"));
    await ch.waitForConfirms();
    await waitUntil("subscriber got three messages", () => events.length === 3);
    const [first, second, third] = events as [BrokerEvent, BrokerEvent, BrokerEvent];
    assert.equal(first.topic, topic);
    assert.deepEqual(first.message.header, {
      "Content-Type": "application/protobuf",
      "Micro-Topic": topic,
      "Micro-ID": "abc",
      "X-Count": "42",
      "X-Flag": "true",
      "X-Bytes": "bytes!",
    });
    assert.deepEqual(first.message.body, new Uint8Array([0, 255, 1, 254]));
    assert.equal(first.redelivered, 0);
    assert.deepEqual(second.message.header, { "Content-Type": "text/plain", "Micro-Topic": topic });
    assert.equal(text(second.message.body), "second");
    assert.deepEqual(third.message.header, { "Micro-Topic": topic });
  });

  test("queue group: a durable queue named exactly as the group, bound with the topic", {
    timeout: 10_000,
  }, async () => {
    const b = await broker();
    const topic = unique("group.topic");
    const queue = unique("go.micro.srv.group");
    const got: string[] = [];
    await b.subscribe(topic, (e) => void got.push(text(e.message.body)), { queue });
    const ch = await (await raw()).createChannel();
    ch.on("error", () => {});
    const info = await ch.checkQueue(queue);
    assert.equal(info.consumerCount, 1);
    // Re-declaring it as durable succeeds; as transient RabbitMQ refuses (so it is durable).
    await ch.assertQueue(queue, { durable: true, autoDelete: false });
    await assert.rejects(ch.assertQueue(queue, { durable: false, autoDelete: true }), /PRECONDITION_FAILED/);
    // A raw publish with the topic as routing key lands in that queue.
    const pub = await (await raw()).createConfirmChannel();
    pub.publish(brokers.exchange, topic, Buffer.from("x"));
    await pub.waitForConfirms();
    await waitUntil("the group member got the raw message", () => got.length === 1);
  });

  test("durableQueues: false declares the queue like Go's default (transient, auto-delete)", {
    timeout: 10_000,
  }, async () => {
    const b = await broker({ durableQueues: false });
    const queue = unique("transient.group");
    brokers.queues.add(queue);
    await b.subscribe(unique("t"), () => {}, { queue });
    const ch = await (await raw()).createChannel();
    await ch.assertQueue(queue, { durable: false, autoDelete: true }); // Go's declaration: accepted
  });

  test("subscribing to a queue declared with other properties rejects with 409", {
    timeout: 10_000,
  }, async () => {
    const queue = unique("conflict.group");
    brokers.queues.add(queue);
    const ch = await (await raw()).createChannel();
    await ch.assertQueue(queue, { durable: false, autoDelete: false });
    const b = await broker();
    await assert.rejects(
      b.subscribe(unique("t"), () => {}, { queue }),
      (e: unknown) => isMicroError(e, 409),
    );
    // The broker still works afterwards.
    const topic = unique("after.conflict");
    const got: string[] = [];
    await b.subscribe(topic, (e) => void got.push(text(e.message.body)));
    await b.publish(topic, { header: {}, body: Buffer.from("ok") });
    await waitUntil("delivery after a refused subscription", () => got.length === 1);
  });

  test("manual nack(requeue) redelivers with redelivered set; nack(false) drops", {
    timeout: 10_000,
  }, async () => {
    const b = await broker();
    const topic = unique("nack");
    const seen: BrokerEvent[] = [];
    await b.subscribe(
      topic,
      async (e) => {
        seen.push(e);
        if (text(e.message.body) === "requeue" && seen.length === 1) await e.nack(true);
        else if (text(e.message.body) === "drop") await e.nack(false);
        else await e.ack();
      },
      { autoAck: false, queue: unique("nack-group") },
    );
    await b.publish(topic, { header: {}, body: Buffer.from("requeue") });
    await waitUntil("redelivery", () => seen.length === 2);
    assert.equal(seen[0]!.redelivered, 0);
    assert.equal(text(seen[1]!.message.body), "requeue");
    assert.equal(seen[1]!.redelivered, 1, "redelivered flag from AMQP");
    await b.publish(topic, { header: {}, body: Buffer.from("drop") });
    await b.publish(topic, { header: {}, body: Buffer.from("last") });
    await waitUntil("last message", () => seen.some((e) => text(e.message.body) === "last"));
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(
      seen.map((e) => text(e.message.body)),
      ["requeue", "requeue", "drop", "last"],
    );
  });

  test("auto-ack: a throwing handler's message is requeued (RequeueOnError)", {
    timeout: 10_000,
  }, async () => {
    const b = await broker();
    const topic = unique("throws");
    const seen: Array<{ body: string; redelivered: number | undefined }> = [];
    const errors: unknown[] = [];
    await b.subscribe(
      topic,
      (e) => {
        seen.push({ body: text(e.message.body), redelivered: e.redelivered });
        if (seen.length === 1) throw new Error("fail once");
      },
      { queue: unique("throws-group"), onError: (err) => errors.push(err) },
    );
    await b.publish(topic, { header: {}, body: Buffer.from("m") });
    await waitUntil("redelivery after throw", () => seen.length === 2);
    assert.deepEqual(seen, [
      { body: "m", redelivered: 0 },
      { body: "m", redelivered: 1 },
    ]);
    assert.equal(errors.length, 1, "the handler error went to onError");
  });

  test("requeueOnError: false drops a message whose handler threw", { timeout: 10_000 }, async () => {
    const b = await broker({ requeueOnError: false });
    const topic = unique("noretry");
    const seen: string[] = [];
    await b.subscribe(
      topic,
      (e) => {
        seen.push(text(e.message.body));
        if (text(e.message.body) === "bad") throw new Error("no");
      },
      { queue: unique("noretry-group"), onError: () => {} },
    );
    await b.publish(topic, { header: {}, body: Buffer.from("bad") });
    await b.publish(topic, { header: {}, body: Buffer.from("good") });
    await waitUntil("good message", () => seen.includes("good"));
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(seen, ["bad", "good"]);
  });

  test("prefetch bounds unacknowledged deliveries per subscriber", { timeout: 10_000 }, async () => {
    const b = await broker({ prefetch: 2 });
    const topic = unique("prefetch");
    const held: BrokerEvent[] = [];
    await b.subscribe(topic, (e) => void held.push(e), { autoAck: false, queue: unique("prefetch-group") });
    for (let i = 0; i < 5; i++) await b.publish(topic, { header: {}, body: Buffer.from(`p${i}`) });
    await waitUntil("two deliveries", () => held.length === 2);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(held.length, 2, "no more than prefetch unacked deliveries");
    await held[0]!.ack();
    await waitUntil("third delivery after an ack", () => held.length === 3);
    for (const e of held) await e.ack();
    await waitUntil("all five", () => held.length === 5);
  });

  test("confirmPublish: false publishes without confirms", { timeout: 10_000 }, async () => {
    const b = await broker({ confirmPublish: false });
    const topic = unique("noconfirm");
    const got: string[] = [];
    await b.subscribe(topic, (e) => void got.push(text(e.message.body)));
    for (let i = 0; i < 20; i++) await b.publish(topic, { header: {}, body: Buffer.from(`n${i}`) });
    await waitUntil("all 20", () => got.length === 20);
    assert.deepEqual(
      got,
      Array.from({ length: 20 }, (_, i) => `n${i}`),
    );
  });

  test("topic wildcards work as binding keys", { timeout: 10_000 }, async () => {
    const b = await broker();
    const base = unique("wild");
    const got: BrokerEvent[] = [];
    await b.subscribe(`${base}.*`, (e) => void got.push(e));
    await b.publish(`${base}.created`, { header: {}, body: Buffer.from("w") });
    await waitUntil("wildcard delivery", () => got.length === 1);
    assert.equal(
      got[0]!.message.header["Micro-Topic"],
      `${base}.created`,
      "Micro-Topic from the routing key",
    );
  });

  test("an exchange declared with other properties makes connect reject with 409", {
    timeout: 10_000,
  }, async () => {
    const name = unique("micro-test-conflict");
    const ch = await (await raw()).createChannel();
    await ch.assertExchange(name, "topic", { durable: true });
    try {
      const b = createRabbitmqBroker({ address: SHARED_URL, exchange: { name, durable: false } });
      await assert.rejects(b.connect(), (e: unknown) => isMicroError(e, 409));
      await b.disconnect();
    } finally {
      await ch.deleteExchange(name);
    }
  });

  test("an unreachable broker: connect, publish and subscribe reject with 503 promptly", {
    timeout: 10_000,
  }, async () => {
    const b = createRabbitmqBroker({ address: "127.0.0.1:1" });
    const started = Date.now();
    await assert.rejects(b.connect(), (e: unknown) => isMicroError(e, 503));
    await assert.rejects(b.publish("t", { header: {}, body: new Uint8Array() }), (e: unknown) =>
      isMicroError(e, 503),
    );
    await assert.rejects(
      b.subscribe("t", () => {}),
      (e: unknown) => isMicroError(e, 503),
    );
    assert.ok(Date.now() - started < 5000, "no long wait on a refused connection");
    await b.disconnect();
  });

  test("publish honours an aborted signal (499) and rejects an empty topic (400)", {
    timeout: 10_000,
  }, async () => {
    const b = await broker();
    await assert.rejects(
      b.publish("t", { header: {}, body: new Uint8Array() }, { signal: AbortSignal.abort() }),
      (e: unknown) => isMicroError(e, 499),
    );
    await assert.rejects(b.publish("", { header: {}, body: new Uint8Array() }), (e: unknown) =>
      isMicroError(e, 400),
    );
  });

  test("address: host:port accepted; shown without credentials", async () => {
    const b = createRabbitmqBroker({ address: "127.0.0.1:5672", exchange: { name: brokers.exchange } });
    assert.equal(b.address, "");
    await b.connect();
    assert.equal(b.address, "amqp://127.0.0.1:5672");
    assert.equal(b.name, "rabbitmq");
    await b.disconnect();
  });
});
