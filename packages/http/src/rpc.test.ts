import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Client, Context, Registry, Server, Transport } from "@microts/core";
import { createClient, createMemoryRegistry, createServer, MicroError, silentLogger } from "@microts/core";
import { createHttpTransport } from "./http-transport.js";

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

describe("RPC over the http transport", { timeout: 30_000 }, () => {
  let registry: Registry;
  let transport: Transport;
  let server: Server;
  let client: Client;

  before(async () => {
    registry = createMemoryRegistry();
    transport = createHttpTransport();
    server = createServer({ name: "greeter", registry, transport, logger: silentLogger });
    server.handle(new Greeter(), { streams: { echo: "bidi" } });
    await server.start();
    client = createClient({ registry, transport: createHttpTransport(), logger: silentLogger });
  });
  after(async () => {
    await client.close();
    await server.stop();
    await transport.close();
  });

  test("the server registers an http address and transport", async () => {
    const [svc] = await registry.getService("greeter");
    assert.match(svc?.nodes[0]?.address ?? "", /^127\.0\.0\.1:\d+$/);
    assert.equal(svc?.nodes[0]?.metadata.transport, "http");
  });

  test("unary call, with metadata", async () => {
    const rsp = await client.call<{ msg: string; user: string }>(
      "greeter",
      "Greeter.Hello",
      { name: "Ada" },
      { metadata: { "X-User": "u-ü" } },
    );
    assert.deepEqual(rsp, { msg: "Hello Ada", user: "u-ü" });
  });

  test("many concurrent unary calls share pooled connections", async () => {
    const names = Array.from({ length: 200 }, (_, i) => `n${i}`);
    const out = await Promise.all(
      names.map((name) => client.call<{ msg: string }>("greeter", "Greeter.Hello", { name })),
    );
    assert.deepEqual(
      out.map((o) => o.msg),
      names.map((n) => `Hello ${n}`),
    );
  });

  test("an error keeps its id, code and (UTF-8) detail", async () => {
    await assert.rejects(client.call("greeter", "Greeter.Hello", { name: "" }), (e: unknown) => {
      assert.ok(e instanceof MicroError);
      assert.equal(e.id, "greeter");
      assert.equal(e.code, 404);
      assert.equal(e.detail, "no such user: ñ");
      return true;
    });
  });

  test("server stream", async () => {
    const got: number[] = [];
    for await (const m of client.stream<{ i: number }>("greeter", "Greeter.Count", { n: 50 })) got.push(m.i);
    assert.deepEqual(
      got,
      Array.from({ length: 50 }, (_, i) => i),
    );
  });

  test("bidirectional stream", async () => {
    const s = client.stream<{ s: string }, { s: string }>("greeter", "Greeter.Echo");
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
        for await (const m of client.stream<{ i: number }>("greeter", "Greeter.Explode", { after: 2 }))
          got.push(m.i);
      })(),
      { code: 409, detail: "stream broke" },
    );
    assert.deepEqual(got, [0, 1]);
  });

  test("deadline exceeded: 408 promptly, and the handler is cancelled", async () => {
    slowAborted = false;
    const t0 = Date.now();
    await assert.rejects(client.call("greeter", "Greeter.Slow", {}, { timeoutMs: 150 }), { code: 408 });
    const took = Date.now() - t0;
    assert.ok(took < 1000, `408 after ${took} ms`);
    for (let i = 0; i < 100 && !slowAborted; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(slowAborted, true);
    // The client still works afterwards.
    assert.equal(
      (await client.call<{ msg: string }>("greeter", "Greeter.Hello", { name: "B" })).msg,
      "Hello B",
    );
  });
});
