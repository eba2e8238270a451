import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import { createMemoryBroker } from "../broker/memory-broker.js";
import type { Context } from "../context/context.js";
import { MicroError } from "../errors/micro-error.js";
import { silentLogger } from "../logger/logger.js";
import { createMemoryRegistry } from "../registry/memory-registry.js";
import type { Registry } from "../registry/registry.js";
import { createServer } from "../server/rpc-server.js";
import type { Server } from "../server/server.js";
import { createMemoryTransport } from "../transport/memory-transport.js";
import type { Transport } from "../transport/transport.js";
import type { Client } from "./client.js";
import { createClient } from "./rpc-client.js";

interface HelloRequest {
  name: string;
}

class Greeter {
  calls = 0;
  async hello(req: HelloRequest, ctx: Context): Promise<{ msg: string; from?: string }> {
    this.calls++;
    if (!req.name) throw MicroError.badRequest("greeter", "name is required");
    return { msg: `Hello ${req.name}`, from: ctx.metadata.get("x-user") };
  }
  async fail(): Promise<never> {
    throw new TypeError("boom");
  }
  async deadline(_req: unknown, ctx: Context) {
    return { deadline: ctx.deadline };
  }
  /** Waits until its request ends early, then fails with the reason. */
  async wait(_req: unknown, ctx: Context): Promise<never> {
    await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve, { once: true }));
    throw ctx.signal.reason;
  }
  async *count(req: { n: number }) {
    for (let i = 0; i < req.n; i++) yield { i };
  }
  async sum(input: AsyncIterable<{ v: number }>) {
    let total = 0;
    for await (const m of input) total += m.v;
    return { total };
  }
}

describe("RPC over the memory transport", () => {
  let registry: Registry;
  let transport: Transport;
  let server: Server;
  let client: Client;
  let greeter: Greeter;

  beforeEach(async () => {
    registry = createMemoryRegistry();
    transport = createMemoryTransport();
    greeter = new Greeter();
    server = createServer({
      name: "greeter",
      registry,
      transport,
      broker: createMemoryBroker(),
      logger: silentLogger,
    });
    server.handle(greeter, { streams: { sum: "client" } });
    await server.start();
    client = createClient({ registry, transport });
  });
  afterEach(async () => {
    await client.close();
    await server.stop();
  });

  test("metadata reaches the handler, case-insensitively", async () => {
    const rsp = await client.call<{ from: string }>(
      "greeter",
      "Greeter.Hello",
      { name: "A" },
      { metadata: { "X-User": "u1" } },
    );
    assert.equal(rsp.from, "u1");
  });

  test("any other thrown error becomes a 500 whose detail is the message", async () => {
    await assert.rejects(client.call("greeter", "Greeter.Fail", {}), {
      name: "MicroError",
      code: 500,
      detail: "boom",
    });
  });

  test("handlers that are not async: a plain value, a sync throw, a thenable", async () => {
    server.handle(
      {
        plain(req: { n: number }) {
          return { n: req.n + 1 };
        },
        throws() {
          throw MicroError.forbidden("greeter", "sync no");
        },
        thenable() {
          // A deliberate thenable: what the router must adopt, as `await` would.
          // biome-ignore lint/suspicious/noThenProperty: the test needs a non-native thenable
          return { then: (resolve: (v: unknown) => void) => resolve({ via: "thenable" }) };
        },
      },
      { name: "Sync" },
    );
    assert.deepEqual(await client.call("greeter", "Sync.Plain", { n: 1 }), { n: 2 });
    await assert.rejects(client.call("greeter", "Sync.Throws", {}), { code: 403, detail: "sync no" });
    assert.deepEqual(await client.call("greeter", "Sync.Thenable", {}), { via: "thenable" });
  });

  test("a handler that throws at once reaches middleware as a rejection, not a throw", async () => {
    // The middleware is not async: a synchronous throw from `next` would pass it by, unmapped.
    const mapping = createServer({
      name: "mapped",
      registry,
      transport,
      logger: silentLogger,
      middleware: [
        (next) => (request, ctx) =>
          next(request, ctx).catch((err: unknown) => {
            throw MicroError.conflict("mapped", `mapped: ${(err as MicroError).detail}`);
          }),
      ],
    });
    mapping.handle(
      {
        throws() {
          throw MicroError.forbidden("mapped", "sync no");
        },
      },
      { name: "Sync" },
    );
    await mapping.start();
    try {
      await assert.rejects(client.call("mapped", "Sync.Throws", {}), {
        code: 409,
        detail: "mapped: sync no",
      });
    } finally {
      await mapping.stop();
    }
  });

  test("unknown service, unknown handler, unknown method", async () => {
    await assert.rejects(client.call("nope", "Greeter.Hello", {}), {
      code: 500,
      detail: "service nope: not found",
    });
    await assert.rejects(client.call("greeter", "Nope.Hello", {}), {
      code: 404,
      detail: "rpc: can't find service Nope",
    });
    await assert.rejects(client.call("greeter", "Greeter.Nope", {}), {
      code: 404,
      detail: "rpc: can't find method Greeter.Nope",
    });
    await assert.rejects(client.call("greeter", "Greeter", {}), { code: 400 });
  });

  test("an undecodable body is a 400 and the server keeps serving", async () => {
    const sock = await transport.dial(server.address as string);
    await sock.send({
      header: {
        "Micro-Service": "greeter",
        "Micro-Endpoint": "Greeter.Hello",
        "Content-Type": "application/json",
      },
      body: new TextEncoder().encode("{not json"),
    });
    const reply = await sock.recv({ timeoutMs: 2000 });
    const err = MicroError.parse(reply.header["Micro-Error"] ?? "");
    assert.equal(err.code, 400);
    assert.match(err.detail, /cannot decode request/);
    await sock.close();
    assert.equal(
      (await client.call<{ msg: string }>("greeter", "Greeter.Hello", { name: "B" })).msg,
      "Hello B",
    );
  });

  test("an unsupported content type is a 415", async () => {
    await assert.rejects(
      client.call("greeter", "Greeter.Hello", new Uint8Array([1]), { contentType: "application/x-nope" }),
      { code: 400 }, // rejected by the client: it has no such codec
    );
    const sock = await transport.dial(server.address as string);
    await sock.send({
      header: { "Micro-Endpoint": "Greeter.Hello", "Content-Type": "text/x-nope" },
      body: new Uint8Array(),
    });
    const reply = await sock.recv({ timeoutMs: 2000 });
    assert.equal(MicroError.parse(reply.header["Micro-Error"] ?? "").code, 415);
    await sock.close();
  });

  test("the deadline travels to the server as the Timeout header", async () => {
    const before = Date.now();
    const rsp = await client.call<{ deadline: number }>(
      "greeter",
      "Greeter.Deadline",
      {},
      { timeoutMs: 3_000 },
    );
    assert.ok(
      rsp.deadline >= before + 2_500 && rsp.deadline <= Date.now() + 3_000,
      `deadline ${rsp.deadline - before}`,
    );
  });

  test("the server ends each request at the deadline of its own Timeout header", async () => {
    const sock = await transport.dial(server.address as string);
    const started = Date.now();
    const send = (id: string, timeout: string) =>
      sock.send({
        header: {
          "Micro-Id": id,
          "Micro-Endpoint": "Greeter.Wait",
          "Content-Type": "application/json",
          Timeout: timeout,
        },
        body: new TextEncoder().encode("{}"),
      });
    await send("long", "5000000000"); // nanoseconds, as Go writes it
    await send("short", "80000000");
    await send("shorter", "40000000");
    const replies: { id: string; code: number; ms: number }[] = [];
    for (let i = 0; i < 2; i++) {
      const reply = await sock.recv({ timeoutMs: 2_000 });
      replies.push({
        id: reply.header["Micro-Id"] ?? "",
        code: MicroError.parse(reply.header["Micro-Error"] ?? "").code,
        ms: Date.now() - started,
      });
    }
    assert.deepEqual(
      replies.map((r) => [r.id, r.code]),
      [
        ["shorter", 408],
        ["short", 408],
      ],
    );
    assert.ok((replies[0]?.ms ?? 0) >= 35, `40 ms request ended after ${replies[0]?.ms} ms`);
    assert.ok((replies[1]?.ms ?? 0) >= 75, `80 ms request ended after ${replies[1]?.ms} ms`);
    await sock.close();
  });

  test("the typed proxy maps methods to endpoints", async () => {
    const g = client.service<Greeter>("greeter", "Greeter");
    assert.equal((await g.hello({ name: "Proxy" })).msg, "Hello Proxy");
    const items: number[] = [];
    for await (const m of g.count({ n: 3 })) items.push(m.i);
    assert.deepEqual(items, [0, 1, 2]);
    const sum = g.sum();
    await sum.send({ v: 2 });
    await sum.send({ v: 3 });
    assert.deepEqual(await sum.response(), { total: 5 });
  });

  test("registration: node metadata and endpoint descriptions", async () => {
    const [svc] = await registry.getService("greeter");
    assert.ok(svc);
    const node = svc.nodes[0];
    assert.ok(node);
    assert.equal(node.address, server.address);
    assert.equal(node.id, server.id);
    assert.deepEqual(
      { ...node.metadata },
      { transport: "memory", broker: "memory", server: "mucp", registry: "memory", protocol: "mucp" },
    );
    const names = svc.endpoints.map((e) => e.name);
    assert.ok(names.includes("Greeter.Hello"));
    assert.equal(svc.endpoints.find((e) => e.name === "Greeter.Count")?.metadata.stream, "true");
    assert.equal(svc.endpoints.find((e) => e.name === "Greeter.Hello")?.metadata.stream, undefined);
  });

  test("stop deregisters and the service disappears", async () => {
    await server.stop();
    await assert.rejects(registry.getService("greeter"), { code: 404 });
  });
});

describe("retries and node choice", () => {
  test("a dead node is skipped: the retry goes to another node", async () => {
    const registry = createMemoryRegistry();
    const transport = createMemoryTransport();
    const a = createServer({ name: "svc", registry, transport, logger: silentLogger });
    a.handleFunction("S.Who", async () => ({ who: "a" }));
    await a.start();
    // A node that is registered but has nothing listening: connection refused.
    await registry.register({
      name: "svc",
      version: "latest",
      endpoints: [],
      nodes: [{ id: "dead", address: "memory:999", metadata: { protocol: "mucp" } }],
    });
    const client = createClient({ registry, transport, retries: 1, backoff: () => 0 });
    for (let i = 0; i < 20; i++)
      assert.equal((await client.call<{ who: string }>("svc", "S.Who", {})).who, "a");
    await client.close();
    await a.stop();
  });

  test("handler errors are not retried (no request runs twice)", async () => {
    const registry = createMemoryRegistry();
    const transport = createMemoryTransport();
    let runs = 0;
    const s = createServer({ name: "svc", registry, transport, logger: silentLogger });
    s.handleFunction("S.Fail", async () => {
      runs++;
      throw MicroError.internalServerError("svc", "no");
    });
    await s.start();
    const client = createClient({ registry, transport, retries: 5, backoff: () => 0 });
    await assert.rejects(client.call("svc", "S.Fail", {}), { code: 500 });
    assert.equal(runs, 1);
    await client.close();
    await s.stop();
  });

  test("middleware sees and changes requests, responses and errors", async () => {
    const registry = createMemoryRegistry();
    const transport = createMemoryTransport();
    const seen: string[] = [];
    const s = createServer({
      name: "svc",
      registry,
      transport,
      logger: silentLogger,
      middleware: [
        (next) => async (req, ctx) => {
          seen.push(`server:${req.endpoint}`);
          const out = (await next(req, ctx)) as { v: number };
          return { v: out.v * 10 };
        },
      ],
    });
    s.handleFunction("S.Inc", async (req: { v: number }) => ({ v: req.v + 1 }));
    await s.start();
    const client = createClient({
      registry,
      transport,
      middleware: [
        (next) => async (req, opts) => {
          seen.push(`client:${req.endpoint}`);
          try {
            return await next({ ...req, body: { v: 1 } }, opts);
          } catch (err) {
            throw MicroError.from(err);
          }
        },
      ],
    });
    assert.deepEqual(await client.call("svc", "S.Inc", { v: 100 }), { v: 20 });
    assert.deepEqual(seen, ["client:S.Inc", "server:S.Inc"]);
    await client.close();
    await s.stop();
  });
});
