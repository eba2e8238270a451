import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import type { Client, Context, Registry, Server, Transport } from "@microts/core";
import { createClient, createServer, MicroError, silentLogger } from "@microts/core";
import { createNatsRegistry } from "./nats-registry.js";
import { createNatsTransport } from "./nats-transport.js";

const address = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
const run = randomBytes(4).toString("hex");
const topics = { queryTopic: `test.${run}.query`, watchTopic: `test.${run}.watch` };
const service = `greeter-${run}`;

let slowAborted = false;

class Greeter {
  async hello(req: { name: string }, ctx: Context) {
    if (!req.name) throw MicroError.notFound("greeter", "no such user: ñ");
    return { msg: `Hello ${req.name}`, user: ctx.metadata.get("x-user") };
  }
  async *count(req: { n: number }) {
    for (let i = 0; i < req.n; i++) yield { i };
  }
  async *echo(input: AsyncIterable<{ s: string }>) {
    for await (const m of input) yield { s: m.s.toUpperCase() };
  }
  async *explode(req: { after: number }) {
    for (let i = 0; i < req.after; i++) yield { i };
    throw MicroError.conflict("greeter", "stream broke");
  }
  async big(req: { size: number }) {
    return { data: "x".repeat(req.size) };
  }
  async slow(_req: unknown, ctx: Context) {
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 5_000);
      ctx.signal.addEventListener("abort", () => {
        clearTimeout(t);
        resolve();
      });
    });
    slowAborted = ctx.signal.aborted;
    return {};
  }
}

describe("RPC over the NATS transport and NATS registry", { timeout: 60_000 }, () => {
  let serverRegistry: Registry;
  let clientRegistry: Registry;
  let serverTransport: Transport;
  let clientTransport: Transport;
  let server: Server;
  let client: Client;

  before(async () => {
    serverRegistry = createNatsRegistry({ address, ...topics });
    clientRegistry = createNatsRegistry({ address, ...topics });
    serverTransport = createNatsTransport({ address });
    clientTransport = createNatsTransport({ address });
    server = createServer({
      name: service,
      registry: serverRegistry,
      transport: serverTransport,
      logger: silentLogger,
    });
    server.handle(new Greeter(), { streams: { echo: "bidi" } });
    await server.start();
    client = createClient({ registry: clientRegistry, transport: clientTransport, logger: silentLogger });
  });
  after(async () => {
    await client.close();
    await server.stop();
    await Promise.all([serverTransport, clientTransport].map((t) => t.close()));
    await Promise.all([serverRegistry, clientRegistry].map((r) => r.close()));
  });

  test("the server registers an inbox address with transport and registry nats", async () => {
    const [svc] = await clientRegistry.getService(service);
    const node = svc?.nodes[0];
    assert.match(node?.address ?? "", /^_INBOX\.[A-Za-z0-9]+$/);
    assert.equal(node?.metadata.transport, "nats");
    assert.equal(node?.metadata.registry, "nats");
  });

  test("unary call, with metadata", async () => {
    const rsp = await client.call<{ msg: string; user: string }>(
      service,
      "Greeter.Hello",
      { name: "Ada" },
      { metadata: { "X-User": "u-ü" } },
    );
    assert.deepEqual(rsp, { msg: "Hello Ada", user: "u-ü" });
  });

  test("many concurrent unary calls", async () => {
    const names = Array.from({ length: 200 }, (_, i) => `n${i}`);
    const out = await Promise.all(
      names.map((name) => client.call<{ msg: string }>(service, "Greeter.Hello", { name })),
    );
    assert.deepEqual(
      out.map((o) => o.msg),
      names.map((n) => `Hello ${n}`),
    );
  });

  test("a 2 MB response crosses NATS's max_payload in chunks", async () => {
    const rsp = await client.call<{ data: string }>(service, "Greeter.Big", { size: 2_000_000 });
    assert.equal(rsp.data.length, 2_000_000);
  });

  test("an error keeps its id, code and (UTF-8) detail", async () => {
    await assert.rejects(client.call(service, "Greeter.Hello", { name: "" }), (e: unknown) => {
      assert.ok(e instanceof MicroError);
      assert.equal(e.id, "greeter");
      assert.equal(e.code, 404);
      assert.equal(e.detail, "no such user: ñ");
      return true;
    });
  });

  test("server stream", async () => {
    const got: number[] = [];
    for await (const m of client.stream<{ i: number }>(service, "Greeter.Count", { n: 50 })) got.push(m.i);
    assert.deepEqual(
      got,
      Array.from({ length: 50 }, (_, i) => i),
    );
  });

  test("bidirectional stream", async () => {
    const s = client.stream<{ s: string }, { s: string }>(service, "Greeter.Echo");
    const out: string[] = [];
    for (const w of ["a", "b", "c"]) {
      await s.send({ s: w });
      out.push(((await s.recv()) as { s: string }).s);
    }
    await s.closeSend();
    assert.equal(await s.recv(), undefined);
    assert.deepEqual(out, ["A", "B", "C"]);
  });

  test("an error mid-stream arrives after the messages before it", async () => {
    const got: number[] = [];
    await assert.rejects(
      (async () => {
        for await (const m of client.stream<{ i: number }>(service, "Greeter.Explode", { after: 2 }))
          got.push(m.i);
      })(),
      { code: 409, detail: "stream broke" },
    );
    assert.deepEqual(got, [0, 1]);
  });

  test("deadline exceeded: 408 promptly, and the handler is cancelled", async () => {
    slowAborted = false;
    const t0 = Date.now();
    await assert.rejects(client.call(service, "Greeter.Slow", {}, { timeoutMs: 150 }), { code: 408 });
    const took = Date.now() - t0;
    assert.ok(took < 1000, `408 after ${took} ms`);
    for (let i = 0; i < 100 && !slowAborted; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(slowAborted, true, "the server saw the client go away (close message)");
    assert.equal(
      (await client.call<{ msg: string }>(service, "Greeter.Hello", { name: "B" })).msg,
      "Hello B",
    );
  });

  test("a call to a service nobody registered fails with 'not found' (as Go's client: 500)", async () => {
    await assert.rejects(client.call(`nobody-${run}`, "X.Y", {}), { detail: /not found/ });
  });
});
