import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import type { Broker } from "@microts/core";
import { isMicroError } from "@microts/core";
import type { JetStreamManager } from "@nats-io/jetstream";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { connect } from "@nats-io/transport-node";
import type { JetStreamBrokerOptions } from "./jetstream-broker.js";
import { createJetStreamBroker } from "./jetstream-broker.js";
import { createNatsBroker } from "./nats-broker.js";

const address = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
const run = randomBytes(4).toString("hex");
const enc = new TextEncoder();
const dec = new TextDecoder();
const streams: string[] = [];
let n = 0;

async function until(what: string, cond: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const msg = (text: string, header: Record<string, string> = {}) => ({ header, body: enc.encode(text) });

describe("jetstream broker", { timeout: 60_000 }, () => {
  let raw: NatsConnection;
  let jsm: JetStreamManager;
  const brokers: Broker[] = [];
  /** A broker on a stream of its own (memory storage), disconnected and deleted after the suite. */
  const open = (opts: Partial<JetStreamBrokerOptions> = {}) => {
    const stream = opts.stream ?? `MICROTS_JS_${run}_${n++}`;
    streams.push(stream);
    const b = createJetStreamBroker({ address, storage: "memory", ...opts, stream });
    brokers.push(b);
    return b;
  };
  before(async () => {
    raw = await connect({ servers: address });
    jsm = await jetstreamManager(raw);
  });
  after(async () => {
    for (const b of brokers) await b.disconnect();
    for (const s of new Set(streams)) await jsm.streams.delete(s).catch(() => false);
    await raw.close();
  });

  test("publish resolves after the PubAck: the message is in the stream", async () => {
    const b = open({ retention: "limits" });
    const topic = `js.${run}.stored`;
    await b.publish(topic, msg("kept", { "Micro-ID": "id-1" }));
    const info = await jsm.streams.info(streams.at(-1) as string);
    assert.equal(info.state.messages, 1);
    assert.deepEqual(info.config.subjects, [topic], "the stream captures exactly the topic");
    // A retry with the same Micro-ID is stored once (Nats-Msg-Id deduplication).
    await b.publish(topic, msg("kept", { "Micro-ID": "id-1" }));
    assert.equal((await jsm.streams.info(streams.at(-1) as string)).state.messages, 1);
  });

  test("topics like user.created and new topics are added to the managed stream", async () => {
    const b = open({ retention: "limits" });
    await b.publish(`user.created.${run}`, msg("a"));
    await b.publish(`orders.${run}`, msg("b"));
    await b.subscribe(`orders.${run}.>`, () => {});
    const info = await jsm.streams.info(streams.at(-1) as string);
    assert.deepEqual([...info.config.subjects].sort(), [
      `orders.${run}`,
      `orders.${run}.>`,
      `user.created.${run}`,
    ]);
  });

  test("with fixed subjects a topic outside them is a 400", async () => {
    const b = open({ subjects: [`fixed.${run}.>`] });
    await b.publish(`fixed.${run}.ok`, msg("in"));
    await assert.rejects(b.publish(`other.${run}`, msg("out")), (e: unknown) => isMicroError(e, 400));
    await assert.rejects(
      b.subscribe(`other.${run}`, () => {}),
      (e: unknown) => isMicroError(e, 400),
    );
  });

  test("Go-style core NATS subscribers receive the same envelope", async () => {
    const b = open();
    const topic = `js.${run}.interop`;
    await b.subscribe(topic, () => {}); // creates the stream with the topic
    const sub = raw.subscribe(topic, { max: 1 });
    await raw.flush();
    await b.publish(topic, msg("hi", { "Micro-Topic": topic }));
    for await (const m of sub) {
      assert.equal(dec.decode(m.data), `{"Header":{"Micro-Topic":"${topic}"},"Body":"aGk="}`);
    }
  });

  test("a message published by a Go core-NATS publisher on a captured subject is delivered", async () => {
    const b = open();
    const topic = `js.${run}.from-go`;
    const got: string[] = [];
    await b.subscribe(topic, (e) => void got.push(dec.decode(e.message.body)));
    raw.publish(topic, '{"Header":{"Micro-Topic":"x"},"Body":"Z28="}');
    await until("delivery", () => got.length === 1);
    assert.deepEqual(got, ["go"]);
  });

  test("nack() redelivers, with the redelivery count; ack() does not", async () => {
    const b = open();
    const topic = `js.${run}.nack`;
    const seen: Array<[string, number | undefined]> = [];
    await b.subscribe(
      topic,
      async (e) => {
        const label = dec.decode(e.message.body);
        seen.push([label, e.redelivered]);
        if (label === "retry" && e.redelivered === 0) await e.nack();
        else await e.ack();
      },
      { autoAck: false },
    );
    await b.publish(topic, msg("retry"));
    await b.publish(topic, msg("once"));
    await until("three deliveries", () => seen.length >= 3);
    await sleep(500);
    assert.deepEqual(seen.sort(), [
      ["once", 0],
      ["retry", 0],
      ["retry", 1],
    ]);
  });

  test("autoAck: a throwing handler's message is redelivered, errors go to onError", async () => {
    const b = open();
    const topic = `js.${run}.throw`;
    let calls = 0;
    const errors: unknown[] = [];
    await b.subscribe(
      topic,
      () => {
        calls++;
        if (calls === 1) throw new Error("first try fails");
      },
      { onError: (e) => errors.push(e) },
    );
    await b.publish(topic, msg("x"));
    await until("redelivery", () => calls === 2);
    await sleep(300);
    assert.equal(calls, 2);
    assert.equal(errors.length, 1);
  });

  test("an unacked delivery is redelivered after ackWaitMs", async () => {
    const b = open({ ackWaitMs: 1_000 });
    const topic = `js.${run}.ackwait`;
    const at: number[] = [];
    await b.subscribe(topic, () => void at.push(Date.now()), { autoAck: false });
    const t0 = Date.now();
    await b.publish(topic, msg("slow"));
    await until("redelivery", () => at.length >= 2, 8_000);
    assert.ok((at[1] as number) - t0 >= 900, `redelivered after ${(at[1] as number) - t0} ms`);
  });

  test("nack(false) terminates: no redelivery", async () => {
    const b = open();
    const topic = `js.${run}.term`;
    let calls = 0;
    await b.subscribe(
      topic,
      async (e) => {
        calls++;
        await e.nack(false);
      },
      { autoAck: false },
    );
    await b.publish(topic, msg("x"));
    await until("delivery", () => calls === 1);
    await sleep(500);
    assert.equal(calls, 1);
  });

  test("maxDeliver: the last nack reports the drop to onError", async () => {
    const b = open({ maxDeliver: 2 });
    const topic = `js.${run}.maxdeliver`;
    let calls = 0;
    const errors: unknown[] = [];
    await b.subscribe(
      topic,
      () => {
        calls++;
        throw new Error("always");
      },
      { onError: (e) => errors.push(e) },
    );
    await b.publish(topic, msg("poison"));
    await until("drop reported", () => errors.some((e) => /dropped after 2 deliveries/.test(String(e))));
    assert.equal(calls, 2);
  });

  test("a queue group's durable consumer keeps messages while no member runs", async () => {
    const stream = `MICROTS_JS_${run}_durable`;
    const b = open({ stream });
    const topic = `js.${run}.durable`;
    const queue = "billing";
    const first = await b.subscribe(topic, () => {}, { queue });
    await first.unsubscribe();
    for (const l of ["a", "b", "c"]) await b.publish(topic, msg(l));
    const other = open({ stream }); // another process of the same group
    const got: string[] = [];
    await other.subscribe(topic, (e) => void got.push(dec.decode(e.message.body)), { queue });
    await until("the three messages", () => got.length === 3);
    assert.deepEqual(got, ["a", "b", "c"]);
    const names: string[] = [];
    for await (const c of jsm.consumers.list(stream)) names.push(c.name);
    assert.equal(names.length, 1, `one durable consumer for the group: ${names.join(", ")}`);
    assert.match(names[0] as string, /^billing_js_[0-9a-f]+_durable_[0-9a-f]{8}$/);
  });

  test("a broadcast subscriber's consumer is deleted on unsubscribe", async () => {
    const stream = `MICROTS_JS_${run}_ephemeral`;
    const b = open({ stream });
    const sub = await b.subscribe(`js.${run}.eph`, () => {});
    assert.equal((await jsm.streams.info(stream)).state.consumer_count, 1);
    await sub.unsubscribe();
    assert.equal((await jsm.streams.info(stream)).state.consumer_count, 0);
  });

  test("undecodable payloads are terminated and reported as 400", async () => {
    const b = open();
    const topic = `js.${run}.garbage`;
    const errors: unknown[] = [];
    const got: string[] = [];
    await b.subscribe(topic, (e) => void got.push(dec.decode(e.message.body)), {
      onError: (e) => errors.push(e),
    });
    await jetstream(raw).publish(topic, "garbage");
    await b.publish(topic, msg("valid"));
    await until("valid message", () => got.length === 1);
    await sleep(300);
    assert.equal(errors.length, 1);
    assert.ok(isMicroError(errors[0], 400));
  });

  test("createNatsBroker({ jetstream }) is the JetStream broker", async () => {
    const stream = `MICROTS_JS_${run}_viaopt`;
    streams.push(stream);
    const b = createNatsBroker({ address, jetstream: { stream, storage: "memory", retention: "limits" } });
    brokers.push(b);
    await b.publish(`js.${run}.viaopt`, msg("x"));
    assert.equal((await jsm.streams.info(stream)).state.messages, 1);
  });
});
