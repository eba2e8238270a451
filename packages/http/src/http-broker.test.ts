import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, request, type Server, type ServerResponse } from "node:http";
import { describe, type TestContext, test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import type { BrokerEvent, MicroError, Registry } from "@microts/core";
import { createMemoryRegistry, silentLogger } from "@microts/core";
import { createHttpBroker, type HttpBrokerOptions } from "./http-broker.js";

/** POSTs like Go's http broker publisher; returns status and body. */
async function post(
  address: string,
  path: string,
  body: string,
  method = "POST",
): Promise<{ status: number; body: string }> {
  const [host, port] = [
    address.slice(0, address.lastIndexOf(":")),
    Number(address.slice(address.lastIndexOf(":") + 1)),
  ];
  return new Promise((resolve, reject) => {
    const req = request(
      { host, port, path, method, headers: { "Content-Type": "application/json" } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

async function waitFor(cond: () => boolean, ms = 3000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("http broker: Go Micro wire behaviour", { timeout: 20_000 }, () => {
  test("a subscription registers micro.http.broker with Go's node layout, and unsubscribe removes it", async () => {
    const registry = createMemoryRegistry();
    const b = createHttpBroker({ registry, logger: silentLogger });
    const s1 = await b.subscribe("orders", () => {});
    const s2 = await b.subscribe("orders", () => {}, { queue: "billing" });
    assert.match(b.address, /^127\.0\.0\.1:\d+$/);
    const svcs = await registry.getService("micro.http.broker");
    assert.deepEqual(svcs.map((s) => s.version).sort(), ["billing", "ff.http.broadcast"]);
    for (const svc of svcs) {
      const node = svc.nodes[0];
      assert.match(node?.id ?? "", /^orders-[0-9a-f-]{36}$/);
      assert.equal(node?.address, b.address);
      assert.deepEqual(node?.metadata, { secure: "false", broker: "http", topic: "orders" });
    }
    await s1.unsubscribe();
    assert.deepEqual(
      (await registry.getService("micro.http.broker")).map((s) => s.version),
      ["billing"],
    );
    await s2.unsubscribe();
    await assert.rejects(registry.getService("micro.http.broker"), { code: 404 });
    await b.disconnect();
  });

  test("publish POSTs the envelope to /?id=<node id> with Content-Type application/json", async () => {
    const registry = createMemoryRegistry();
    const seen: { method?: string; url?: string; type?: string; body: string }[] = [];
    const srv = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        seen.push({
          method: req.method,
          url: req.url,
          type: req.headers["content-type"],
          body: Buffer.concat(chunks).toString(),
        });
        res.end();
      });
    });
    srv.listen(0, "127.0.0.1");
    await once(srv, "listening");
    const address = `127.0.0.1:${(srv.address() as { port: number }).port}`;
    // What a Go subscriber registers (one id per broker and topic).
    await registry.register({
      name: "micro.http.broker",
      version: "ff.http.broadcast",
      endpoints: [],
      nodes: [
        {
          id: "go.events-b1d2 x",
          address,
          metadata: { secure: "false", broker: "http", topic: "go.events" },
        },
      ],
    });
    const pub = createHttpBroker({ registry, logger: silentLogger });
    await pub.publish("go.events", {
      header: { "Micro-ID": "42", "Content-Type": "application/json" },
      body: new TextEncoder().encode("{}\n"),
    });
    await waitFor(() => seen.length === 1);
    assert.deepEqual(seen[0], {
      method: "POST",
      url: "/?id=go.events-b1d2%20x",
      type: "application/json",
      body: '{"Header":{"Content-Type":"application/json","Micro-ID":"42","Micro-Topic":"go.events"},"Body":"e30K"}',
    });
    await pub.disconnect();
    srv.close();
  });

  test("the subscriber server answers like Go's: 405, 400, 500, 200 and dispatches by ?id=", async () => {
    const registry = createMemoryRegistry();
    const b = createHttpBroker({ registry, logger: silentLogger });
    const got: BrokerEvent[] = [];
    await b.subscribe("t", (e) => {
      got.push(e);
    });
    const [svc] = await registry.getService("micro.http.broker");
    const id = svc?.nodes[0]?.id as string;
    const envelope = '{"Header":{"Micro-Topic":"t","X":"1"},"Body":"aGk="}';

    assert.equal((await post(b.address, "/", "", "GET")).status, 405);
    const malformed = await post(b.address, `/?id=${id}`, "{not json");
    assert.equal(malformed.status, 400);
    assert.equal(JSON.parse(malformed.body).code, 400);
    assert.equal((await post(b.address, `/?id=${id}`, '{"Header":{},"Body":""}')).status, 500);
    assert.deepEqual(await post(b.address, "/?id=someone-else", envelope), { status: 200, body: "" });
    assert.equal(got.length, 0);
    assert.deepEqual(await post(b.address, `/?id=${encodeURIComponent(id)}`, envelope), {
      status: 200,
      body: "",
    });
    assert.equal(got.length, 1);
    assert.equal(got[0]?.topic, "t");
    assert.deepEqual(got[0]?.message.header, { "Micro-Topic": "t", X: "1" });
    assert.equal(new TextDecoder().decode(got[0]?.message.body), "hi");
    await b.disconnect();
  });

  test("undeliverable messages: publish resolves, onDeliveryError reports them", async () => {
    const registry: Registry = createMemoryRegistry();
    const errors: [MicroError, string][] = [];
    // A registered subscriber whose process is gone: connection refused.
    const gone = createServer();
    gone.listen(0, "127.0.0.1");
    await once(gone, "listening");
    const address = `127.0.0.1:${(gone.address() as { port: number }).port}`;
    gone.close();
    await registry.register({
      name: "micro.http.broker",
      version: "ff.http.broadcast",
      endpoints: [],
      nodes: [{ id: "dead-1", address, metadata: { secure: "false", broker: "http", topic: "dead" } }],
    });
    const pub = createHttpBroker({
      registry,
      logger: silentLogger,
      onDeliveryError: (e, t) => errors.push([e, t]),
    });
    await pub.publish("dead", { header: {}, body: new Uint8Array([1]) });
    await pub.publish("nobody-listens", { header: {}, body: new Uint8Array([1]) });
    await waitFor(() => errors.length === 1);
    assert.equal(errors[0]?.[0].code, 503);
    assert.equal(errors[0]?.[1], "dead");
    await pub.disconnect();
  });

  test("a handler error goes to the subscription's onError; the next message still arrives", async () => {
    const registry = createMemoryRegistry();
    const sub = createHttpBroker({ registry, logger: silentLogger });
    const pub = createHttpBroker({ registry, logger: silentLogger });
    const errors: unknown[] = [];
    const got: string[] = [];
    await sub.subscribe(
      "e",
      (ev) => {
        const s = new TextDecoder().decode(ev.message.body);
        if (s === "bad") throw new Error("nope");
        got.push(s);
      },
      { onError: (e) => errors.push(e) },
    );
    await pub.publish("e", { header: {}, body: new TextEncoder().encode("bad") });
    await pub.publish("e", { header: {}, body: new TextEncoder().encode("good") });
    await waitFor(() => got.length === 1);
    assert.equal((errors[0] as Error).message, "nope");
    await pub.disconnect();
    await sub.disconnect();
  });

  test("a registry without the broker service at first: a later subscriber is found (cache refresh on miss)", async () => {
    const registry = createMemoryRegistry();
    const pub = createHttpBroker({ registry, logger: silentLogger, cacheTtlMs: 60_000 });
    const sub = createHttpBroker({ registry, logger: silentLogger });
    await pub.publish("late", { header: {}, body: new Uint8Array() });
    const got: number[] = [];
    await sub.subscribe("late", () => {
      got.push(1);
    });
    await pub.publish("late", { header: {}, body: new Uint8Array() });
    await waitFor(() => got.length === 1);
    // A second subscriber on the same topic appears while the cache is fresh: the watch drops it.
    await sub.subscribe("late", () => {
      got.push(2);
    });
    await pub.publish("late", { header: {}, body: new Uint8Array() });
    await waitFor(() => got.length === 3);
    assert.deepEqual(got.sort(), [1, 1, 2]);
    await pub.disconnect();
    await sub.disconnect();
  });

  test("createHttpBroker without a registry is a 400", () => {
    assert.throws(() => createHttpBroker({} as Parameters<typeof createHttpBroker>[0]), { code: 400 });
  });
});

/** A subscriber registered as Go's would be, served by `handler` on a plain Node HTTP server. */
async function fakeSubscriber(
  t: TestContext,
  registry: Registry,
  topic: string,
  handler: (body: string, res: ServerResponse) => void,
  options: { maxRequestsPerSocket?: number } = {},
): Promise<{ server: Server; connections: () => number }> {
  let connections = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => handler(Buffer.concat(chunks).toString(), res));
  });
  server.maxRequestsPerSocket = options.maxRequestsPerSocket ?? 0;
  server.on("connection", () => connections++);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const address = `127.0.0.1:${(server.address() as { port: number }).port}`;
  await registry.register({
    name: "micro.http.broker",
    version: "ff.http.broadcast",
    endpoints: [],
    nodes: [{ id: `${topic}-1`, address, metadata: { secure: "false", broker: "http", topic } }],
  });
  return { server, connections: () => connections };
}

/** The text of each envelope's body, in arrival order. */
const bodyOf = (envelope: string): string => Buffer.from(JSON.parse(envelope).Body, "base64").toString();

/** A publishing broker whose delivery errors are collected in `errors`, disconnected after the test. */
function pipelinePublisher(
  t: TestContext,
  registry: Registry,
  options: Partial<HttpBrokerOptions> = {},
): { errors: MicroError[]; publishNumbers(topic: string, n: number): Promise<void> } {
  const errors: MicroError[] = [];
  const pub = createHttpBroker({
    registry,
    logger: silentLogger,
    onDeliveryError: (e) => errors.push(e),
    ...options,
  });
  t.after(() => pub.disconnect());
  return {
    errors,
    async publishNumbers(topic, n) {
      for (let i = 0; i < n; i++)
        await pub.publish(topic, { header: {}, body: new TextEncoder().encode(String(i)) });
    },
  };
}

describe("http broker: pipelined deliveries", { timeout: 20_000 }, () => {
  test("many messages reach one subscriber in order over one connection", async (t) => {
    const registry = createMemoryRegistry();
    const got: string[] = [];
    const sub = await fakeSubscriber(t, registry, "p", (body, res) => {
      got.push(bodyOf(body));
      res.end();
    });
    const { errors, publishNumbers } = pipelinePublisher(t, registry);
    const n = 2_000;
    await publishNumbers("p", n);
    await waitFor(() => got.length === n, 10_000);
    assert.deepEqual(
      got,
      Array.from({ length: n }, (_, i) => String(i)),
    );
    assert.equal(sub.connections(), 1);
    assert.deepEqual(errors, []);
  });

  test("a subscriber that closes the connection mid-pipeline loses nothing: the rest is sent again", async (t) => {
    const registry = createMemoryRegistry();
    const got: string[] = [];
    // Node answers the 10th request of a connection with Connection: close and drops the requests
    // pipelined after it, as a server that recycles connections does.
    const sub = await fakeSubscriber(
      t,
      registry,
      "r",
      (body, res) => {
        got.push(bodyOf(body));
        res.end();
      },
      { maxRequestsPerSocket: 10 },
    );
    const { errors, publishNumbers } = pipelinePublisher(t, registry);
    const n = 300;
    await publishNumbers("r", n);
    await waitFor(() => new Set(got).size === n, 10_000);
    // First arrivals are in publish order; nothing was reported lost.
    assert.deepEqual(
      [...new Set(got)],
      Array.from({ length: n }, (_, i) => String(i)),
    );
    assert.ok(sub.connections() >= n / 10, `connections: ${sub.connections()}`);
    assert.deepEqual(errors, []);
  });

  test("a non-200 answer fails that delivery only; the next ones still arrive", async (t) => {
    const registry = createMemoryRegistry();
    const got: string[] = [];
    await fakeSubscriber(t, registry, "s", (body, res) => {
      const text = bodyOf(body);
      got.push(text);
      if (text === "2") {
        res.statusCode = 500;
        res.end("boom");
      } else res.end();
    });
    const { errors, publishNumbers } = pipelinePublisher(t, registry);
    await publishNumbers("s", 5);
    await waitFor(() => got.length === 5 && errors.length === 1);
    assert.deepEqual(got, ["0", "1", "2", "3", "4"]);
    assert.equal(errors[0]?.code, 500);
    assert.match(errors[0]?.detail ?? "", /500 Internal Server Error: boom/);
    await delay(50);
    assert.equal(errors.length, 1);
  });

  test("a subscriber that never answers: deliveries fail with 408 within deliveryTimeoutMs", async (t) => {
    const registry = createMemoryRegistry();
    await fakeSubscriber(t, registry, "h", () => {});
    const { errors, publishNumbers } = pipelinePublisher(t, registry, { deliveryTimeoutMs: 100 });
    await publishNumbers("h", 3);
    // Each delivery is written at most twice; each timeout reports the oldest one.
    await waitFor(() => errors.length === 3, 5_000);
    assert.ok(
      errors.every((e) => e.code === 408 || e.code === 503),
      errors.map((e) => e.code).join(),
    );
    assert.equal(errors[0]?.code, 408);
  });
});
