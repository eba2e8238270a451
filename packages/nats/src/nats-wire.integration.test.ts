import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import type { Registry, ServiceRecord, Transport } from "@microts/core";
import { isMicroError } from "@microts/core";
import type { Msg, NatsConnection } from "@nats-io/transport-node";
import { connect, createInbox } from "@nats-io/transport-node";
import { createNatsRegistry } from "./nats-registry.js";
import { createNatsTransport } from "./nats-transport.js";

const address = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
const run = randomBytes(4).toString("hex");
const queryTopic = `test.${run}.query`;
const watchTopic = `test.${run}.watch`;
const dec = new TextDecoder();
const enc = new TextEncoder();

/** Collects messages on `subject` for `ms` after publishing `payload` with it as reply inbox. */
async function request(nc: NatsConnection, subject: string, payload: string, ms = 300): Promise<string[]> {
  const inbox = createInbox();
  const out: string[] = [];
  const sub = nc.subscribe(inbox, { callback: (_e, m) => void out.push(dec.decode(m.data)) });
  nc.publish(subject, payload, { reply: inbox });
  await new Promise((r) => setTimeout(r, ms));
  sub.unsubscribe();
  return out;
}

function record(name: string, version: string, id: string): ServiceRecord {
  return {
    name,
    version,
    metadata: { a: "1" },
    endpoints: [{ name: "Greeter.Hello", request: { name: "Request", type: "Request" }, metadata: {} }],
    nodes: [{ id, address: "_INBOX.abc", metadata: { transport: "nats" } }],
  };
}

describe("nats registry: Go wire format", { timeout: 30_000 }, () => {
  let raw: NatsConnection;
  let registry: Registry;
  before(async () => {
    raw = await connect({ servers: address });
    registry = createNatsRegistry({ address, queryTopic, watchTopic });
  });
  after(async () => {
    await registry.close();
    await raw.close();
  });

  test("register announces Go's registry.Result on the watch subject", async () => {
    const sub = raw.subscribe(watchTopic, { max: 1 });
    await raw.flush();
    await registry.register(record(`svc-${run}`, "1.0.0", "n1"));
    for await (const m of sub) {
      assert.equal(
        dec.decode(m.data),
        `{"Service":{"name":"svc-${run}","version":"1.0.0","metadata":{"a":"1"},"endpoints":[{"request":{"name":"Request","type":"Request","values":null},"response":null,"metadata":{},"name":"Greeter.Hello"}],"nodes":[{"metadata":{"transport":"nats"},"id":"n1","address":"_INBOX.abc"}]},"Action":"create"}`,
      );
    }
  });

  test("a raw Go 'get' query gets one Go-JSON Service per version", async () => {
    const name = `svc-${run}`;
    await registry.register(record(name, "2.0.0", "n2"));
    const q = `{"Service":{"name":"${name}","version":"","metadata":null,"endpoints":null,"nodes":null},"Action":"get"}`;
    const replies = (await request(raw, queryTopic, q)).sort();
    assert.equal(replies.length, 2);
    assert.equal(
      replies[0],
      `{"name":"${name}","version":"1.0.0","metadata":{"a":"1"},"endpoints":[{"request":{"name":"Request","type":"Request","values":null},"response":null,"metadata":{},"name":"Greeter.Hello"}],"nodes":[{"metadata":{"transport":"nats"},"id":"n1","address":"_INBOX.abc"}]}`,
    );
    assert.match(replies[1] as string, /"version":"2.0.0"/);
    const other = await request(raw, queryTopic, q.replace(name, `nobody-${run}`));
    assert.deepEqual(other, [], "no reply for a service this instance does not own");
  });

  test("a raw Go 'list' query gets every registered version; garbage gets nothing", async () => {
    const replies = await request(raw, queryTopic, '{"Service":null,"Action":"list"}');
    assert.equal(replies.length, 2);
    assert.deepEqual(await request(raw, queryTopic, "garbage"), []);
    assert.deepEqual(await request(raw, queryTopic, '{"Service":null,"Action":"get"}'), []);
  });

  test("getService merges replies of a Go process answering queries", async () => {
    const name = `go-svc-${run}`;
    // A Go process owning node go-1 of version 1.0.0 of `name`.
    const goSub = raw.subscribe(queryTopic, {
      callback: (_e, m: Msg) => {
        const q = m.json<{ Service: { name: string } | null; Action: string }>();
        if (q.Action === "list" || q.Service?.name === name) {
          m.respond(
            `{"name":"${name}","version":"1.0.0","metadata":null,"endpoints":null,"nodes":[{"metadata":null,"id":"go-1","address":"10.0.0.1:1"}]}`,
          );
        }
      },
    });
    await raw.flush();
    await registry.register({
      name,
      version: "1.0.0",
      endpoints: [],
      nodes: [{ id: "ts-1", address: "x", metadata: {} }],
    });
    const got = await registry.getService(name);
    goSub.unsubscribe();
    assert.equal(got.length, 1);
    assert.deepEqual(got[0]?.nodes.map((n) => n.id).sort(), ["go-1", "ts-1"]);
    assert.deepEqual(
      got[0]?.nodes.find((n) => n.id === "go-1")?.metadata,
      {},
      "Go's null metadata read as {}",
    );
  });

  test("a Go watch event published raw reaches watchers", async () => {
    const name = `go-watch-${run}`;
    const w = registry.watch({ service: name });
    await new Promise((r) => setTimeout(r, 100));
    raw.publish(watchTopic, "garbage");
    raw.publish(
      watchTopic,
      `{"Service":{"name":"${name}","version":"v","metadata":null,"endpoints":null,"nodes":null},"Action":"delete"}`,
    );
    const e = await w.next();
    w.stop();
    assert.equal(e.action, "delete");
    assert.equal(e.service.name, name);
    assert.deepEqual(e.service.nodes, []);
  });

  test("deregister announces delete and stops answering", async () => {
    const name = `svc-${run}`;
    const sub = raw.subscribe(watchTopic, { max: 1 });
    await raw.flush();
    await registry.deregister(record(name, "1.0.0", "n1"));
    for await (const m of sub) assert.match(dec.decode(m.data), /"Action":"delete"}$/);
    const got = await registry.getService(name);
    assert.deepEqual(
      got.map((s) => s.version),
      ["2.0.0"],
    );
  });

  test("quorum stops collecting early", async () => {
    const fast = createNatsRegistry({ address, queryTopic, watchTopic, quorum: 1, timeoutMs: 5_000 });
    const t0 = Date.now();
    const got = await fast.getService(`svc-${run}`);
    assert.ok(Date.now() - t0 < 2_000, "answered before the 5 s window");
    assert.equal(got.length, 1);
    await fast.close();
  });
});

describe("nats transport: Go wire format", { timeout: 30_000 }, () => {
  let raw: NatsConnection;
  let transport: Transport;
  before(async () => {
    raw = await connect({ servers: address });
    transport = createNatsTransport({ address });
  });
  after(async () => {
    await transport.close();
    await raw.close();
  });

  test("a client publishes Go's json(transport.Message) with its inbox as reply; answers reach it", async () => {
    const subject = `test.${run}.server`; // a Go server listening on a fixed subject
    const goServer = raw.subscribe(subject);
    await raw.flush();
    const goLike = createNatsTransport({ address, probeOnDial: false });
    const socket = await goLike.dial(subject);
    await socket.send({
      header: { "Micro-Service": "greeter", "Content-Type": "application/json" },
      body: enc.encode("{}"),
    });
    let reply: Msg | undefined;
    for await (const m of goServer) {
      reply = m;
      break;
    }
    assert.ok(reply);
    assert.equal(
      dec.decode(reply.data),
      '{"Header":{"Content-Type":"application/json","Micro-Service":"greeter"},"Body":"e30="}',
    );
    assert.equal(reply.reply, socket.local);
    assert.match(socket.local, /^_INBOX\./);
    // The Go server answers by publishing to the reply subject, without NATS headers.
    raw.publish(reply.reply as string, '{"Header":{"Micro-Id":"1"},"Body":"eyJtc2ciOiJoaSJ9"}');
    const m = await socket.recv({ timeoutMs: 5_000 });
    assert.deepEqual(m.header, { "Micro-Id": "1" });
    assert.equal(dec.decode(m.body), '{"msg":"hi"}');
    await socket.close();
    await goLike.close();
  });

  test("the dial probe has its own reply subject, so a Go listener's throwaway probe session never gets a request", async () => {
    // A Go listener keys sessions by reply subject and ends the one opened by the (non-JSON) probe;
    // a request sharing that reply subject could be handed to the dying session and lost.
    const subject = `test.${run}.probed`;
    const goServer = raw.subscribe(subject, { max: 2 });
    await raw.flush();
    const socket = await transport.dial(subject);
    await socket.send({ header: { "Micro-Id": "1" }, body: enc.encode("{}") });
    const seen: Msg[] = [];
    for await (const m of goServer) seen.push(m);
    const [probe, data] = seen;
    assert.equal(probe?.headers?.get("Micro-Transport"), "probe");
    assert.equal(probe?.data.length, 0);
    assert.equal(data?.reply, socket.local);
    assert.ok(probe?.reply);
    assert.notEqual(probe?.reply, socket.local);
    await socket.close();
  });

  test("a listener on :0 gets an inbox address; a Go client's request is answered on its reply subject", async () => {
    const listener = await transport.listen(":0");
    assert.match(listener.address, /^_INBOX\.[A-Za-z0-9]+$/);
    const inbox = createInbox();
    const replies = raw.subscribe(inbox);
    raw.publish(listener.address, '{"Header":{"Micro-Id":"9"},"Body":"cGluZw=="}', { reply: inbox });
    const it = listener[Symbol.asyncIterator]();
    const server = (await it.next()).value;
    assert.equal(server.remote, inbox, "sessions are keyed by the reply subject");
    const got = await server.recv({ timeoutMs: 5_000 });
    assert.equal(dec.decode(got.body), "ping");
    await server.send({ header: { "Micro-Id": "9", b: "<" }, body: enc.encode("pong") });
    for await (const m of replies) {
      assert.equal(dec.decode(m.data), '{"Header":{"Micro-Id":"9","b":"\\u003c"},"Body":"cG9uZw=="}');
      break;
    }
    // A Go client never marked itself: closing the server socket sends it nothing.
    await server.close();
    const extra = raw.subscribe(inbox, { max: 1, timeout: 300 });
    await assert.rejects(
      (async () => {
        for await (const _ of extra) return;
      })(),
      "no close message to a Go client",
    );
    await listener.close();
  });

  test("two micro-ts ends switch to binary frames after the first exchange", async () => {
    const listener = await transport.listen(":0");
    const toServer = raw.subscribe(listener.address);
    const client = createNatsTransport({ address, probeOnDial: false });
    const socket = await client.dial(listener.address);
    const toClient = raw.subscribe(socket.local);
    await raw.flush();
    const seen = (sub: typeof toServer) => sub[Symbol.asyncIterator]();
    const up = seen(toServer);
    const down = seen(toClient);

    await socket.send({ header: { "Micro-Id": "1", ü: "é" }, body: enc.encode("one") });
    const server = (await listener[Symbol.asyncIterator]().next()).value;
    assert.deepEqual(await server.recv({ timeoutMs: 5_000 }), {
      header: { "Micro-Id": "1", ü: "é" },
      body: enc.encode("one"),
    });
    const first = (await up.next()).value as Msg;
    assert.equal(
      first.headers?.get("Micro-Transport"),
      "micro-ts; frames=1",
      "JSON, marked as frame-capable",
    );
    assert.equal(dec.decode(first.data), '{"Header":{"Micro-Id":"1","ü":"é"},"Body":"b25l"}');

    await server.send({ header: { "Micro-Id": "1" }, body: enc.encode("reply") });
    const reply = await socket.recv({ timeoutMs: 5_000 });
    assert.equal(dec.decode(reply.body), "reply");
    const answer = (await down.next()).value as Msg;
    assert.equal(answer.data[0], 0, "the server answers with a frame");
    assert.equal(answer.headers, undefined, "a frame needs no NATS header");

    await socket.send({ header: { "Micro-Id": "2" }, body: enc.encode("two") });
    assert.equal(dec.decode((await server.recv({ timeoutMs: 5_000 })).body), "two");
    const second = (await up.next()).value as Msg;
    assert.equal(second.data[0], 0, "the client sends frames once it saw one");
    assert.equal(second.headers, undefined);

    toServer.unsubscribe();
    toClient.unsubscribe();
    await socket.close();
    await listener.close();
    await client.close();
  });

  const malformed: [string, string | Uint8Array][] = [
    ["malformed JSON", "{not json"],
    ["a truncated frame", new Uint8Array([0, 1, 0, 0, 0, 9, 0x7b])],
  ];
  for (const [what, payload] of malformed) {
    test(`${what} on a session fails it with 400 instead of crashing`, async () => {
      const listener = await transport.listen(":0");
      const socket = await transport.dial(listener.address);
      await socket.send({ header: {}, body: enc.encode("hi") });
      const server = (await listener[Symbol.asyncIterator]().next()).value;
      await server.recv();
      raw.publish(listener.address, payload, { reply: socket.local });
      await assert.rejects(server.recv({ timeoutMs: 5_000 }), (e: unknown) => isMicroError(e, 400));
      await socket.close();
      await listener.close();
    });
  }
});
