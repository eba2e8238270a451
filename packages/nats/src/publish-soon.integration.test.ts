import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import type { Msg, NatsConnection } from "@nats-io/transport-node";
import { connect, headers as natsHeaders } from "@nats-io/transport-node";
import { type PublishOwner, publishQueued, publishSoon } from "./publish-soon.js";

const address = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
const run = randomBytes(4).toString("hex");
const enc = new TextEncoder();
const dec = new TextDecoder();

/** Collects every message on `subject`; the subscription is live when this returns. */
async function collect(nc: NatsConnection, subject: string): Promise<Msg[]> {
  const got: Msg[] = [];
  nc.subscribe(subject, { callback: (_err, m) => void got.push(m) });
  await nc.flush();
  return got;
}

async function until(what: string, cond: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** An owner that records what it was told. */
function owner(): PublishOwner & { failures: unknown[] } {
  const failures: unknown[] = [];
  return { failures, publishFailed: (err) => void failures.push(err) };
}

describe("publishSoon on a real NATS server", { timeout: 30_000 }, () => {
  let sub: NatsConnection;
  let pub: NatsConnection;
  before(async () => {
    sub = await connect({ servers: address });
    pub = await connect({ servers: address });
  });
  after(async () => {
    await pub.close();
    await sub.close();
  });

  test("plain messages, with and without a reply subject, arrive byte for byte and in order", async () => {
    const subject = `soon.${run}.plain`;
    const got = await collect(sub, subject);
    const sizes = [0, 1, 9, 10, 99, 100, 1000, 65_536, 3];
    const sent = sizes.map((n, i) => randomBytes(n + (i % 2)));
    for (const [i, data] of sent.entries()) {
      publishSoon(pub, subject, data, i % 3 === 0 ? { reply: `soon.${run}.reply.${i}` } : undefined);
    }
    await until("every message", () => got.length === sent.length);
    for (const [i, m] of got.entries()) {
      assert.ok(Buffer.from(m.data).equals(sent[i] as Buffer), `message ${i}`);
      assert.equal(m.reply ?? "", i % 3 === 0 ? `soon.${run}.reply.${i}` : "");
    }
  });

  test("messages with NATS headers keep their place among plain ones", async () => {
    const subject = `soon.${run}.mixed`;
    const got = await collect(sub, subject);
    for (let i = 0; i < 30; i++) {
      const h = natsHeaders();
      h.set("N", String(i));
      publishSoon(pub, subject, enc.encode(String(i)), i % 4 === 1 ? { headers: h } : undefined);
    }
    await until("30 messages", () => got.length === 30);
    assert.deepEqual(
      got.map((m) => dec.decode(m.data)),
      Array.from({ length: 30 }, (_, i) => String(i)),
    );
    for (const [i, m] of got.entries()) assert.equal(m.headers?.get("N") ?? "", i % 4 === 1 ? String(i) : "");
  });

  test("the connection's statistics count the messages written in a run", async () => {
    const before = pub.stats();
    const subject = `soon.${run}.stats`;
    for (let i = 0; i < 10; i++) publishSoon(pub, subject, new Uint8Array(7));
    publishQueued(pub);
    const after = pub.stats();
    assert.equal(after.outMsgs - before.outMsgs, 10);
    assert.equal(after.outBytes - before.outBytes, 70);
  });

  test("a message nats.js refuses at hand-over is reported to its owner; the others still go", async () => {
    const subject = `soon.${run}.refused`;
    const got = await collect(sub, subject);
    const o = owner();
    publishSoon(pub, subject, enc.encode("a"), undefined, o);
    publishSoon(pub, "bad subject", enc.encode("b"), undefined, o);
    publishSoon(pub, subject, enc.encode("c"), { reply: "bad reply" }, o);
    publishSoon(pub, subject, enc.encode("d"), undefined, o);
    await until("two messages", () => got.length === 2);
    assert.deepEqual(
      got.map((m) => dec.decode(m.data)),
      ["a", "d"],
    );
    assert.equal(o.failures.length, 2);
  });

  test("messages queued on a connection that closes before hand-over are reported lost", async () => {
    const nc = await connect({ servers: address });
    const o = owner();
    publishSoon(nc, `soon.${run}.closed`, enc.encode("x"), undefined, o);
    publishSoon(nc, `soon.${run}.closed`, enc.encode("y"), undefined, o);
    const closing = nc.close();
    await closing;
    publishQueued(nc);
    await new Promise((r) => process.nextTick(r));
    assert.equal(o.failures.length, 2);
  });
});

test("publishSoon falls back to publish() on a connection without nats.js's protocol handler", async () => {
  const calls: Array<[string, string]> = [];
  const nc = {
    isClosed: () => false,
    info: undefined,
    publish: (subject: string, data: Uint8Array) => void calls.push([subject, dec.decode(data)]),
  } as unknown as NatsConnection;
  publishSoon(nc, "a", enc.encode("1"));
  publishSoon(nc, "b", enc.encode("2"));
  await new Promise((r) => process.nextTick(r));
  assert.deepEqual(calls, [
    ["a", "1"],
    ["b", "2"],
  ]);
});
