import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Client, Context, Registry, Server, Transport } from "@microts/core";
import {
  createClient,
  createMemoryRegistry,
  createServer,
  defaultPlugins,
  MicroError,
  silentLogger,
} from "@microts/core";
import { rpcContract } from "@microts/testing";
import { createTcpTransport } from "./tcp-transport.js";

// The RPC protocol end to end (unary, errors, every stream kind, deadlines, cancellation).
rpcContract("tcp", { create: () => createTcpTransport(), listenAddress: "127.0.0.1:0" });
// The same with busy polling (both ends keep their event loop turning between messages).
rpcContract("tcp, busy polling", {
  create: () => createTcpTransport({ busyPollMs: 0.2 }),
  listenAddress: "127.0.0.1:0",
});

describe("RPC over the tcp transport", { timeout: 30_000 }, () => {
  let registry: Registry;
  let transport: Transport;
  let server: Server;
  let client: Client;

  before(async () => {
    registry = createMemoryRegistry();
    transport = createTcpTransport();
    server = createServer({ name: "greeter", registry, transport, logger: silentLogger });
    server.handleFunction("Greeter.Hello", async (req: { name: string }, ctx: Context) => ({
      msg: `Hello ${req.name}`,
      user: ctx.metadata.get("x-user"),
      trace: ctx.metadata.get("x-trace"),
    }));
    await server.start();
    client = createClient({ registry, transport: createTcpTransport(), logger: silentLogger });
  });
  after(async () => {
    await client.close();
    await server.stop();
    await transport.close();
  });

  test("the server registers a tcp address and transport", async () => {
    const [svc] = await registry.getService("greeter");
    assert.match(svc?.nodes[0]?.address ?? "", /^127\.0\.0\.1:\d+$/);
    assert.equal(svc?.nodes[0]?.metadata.transport, "tcp");
  });

  test("metadata that changes from call to call arrives intact, however often names repeat", async () => {
    // Values that repeat are sent as table references after their second use; values that
    // change never are. Both must come back exactly, in any mix, over one connection.
    const calls = Array.from({ length: 600 }, (_, i) =>
      client.call<{ msg: string; user: string; trace: string }>(
        "greeter",
        "Greeter.Hello",
        { name: `n${i % 7}` },
        { metadata: { "X-User": `u-ü ✓ ${i % 3}`, "X-Trace": `t-${i}` } },
      ),
    );
    const replies = await Promise.all(calls);
    replies.forEach((r, i) => {
      assert.deepEqual(r, { msg: `Hello n${i % 7}`, user: `u-ü ✓ ${i % 3}`, trace: `t-${i}` });
    });
  });

  test('a service configured with transport "tcp" gets this transport', async () => {
    const t = (await defaultPlugins().transport.tcp?.({})) as Transport;
    assert.equal(t.name, "tcp");
    await t.close();
  });
});

describe("RPC over the tcp transport: messages over the size limit", { timeout: 30_000 }, () => {
  let registry: Registry;
  let server: Server;
  let client: Client;
  const small = () => createTcpTransport({ maxBodyBytes: 1024 });

  before(async () => {
    registry = createMemoryRegistry();
    server = createServer({ name: "echo", registry, transport: small(), logger: silentLogger });
    server.handleFunction("Echo.Call", async (req: { data: string; times?: number }) => ({
      data: req.data.repeat(req.times ?? 1),
    }));
    await server.start();
    client = createClient({ registry, transport: small(), logger: silentLogger, retries: 3 });
  });
  after(async () => {
    await client.close();
    await server.stop();
  });

  const call = (data: string, times = 1) =>
    client.call<{ data: string }>("echo", "Echo.Call", { data, times }, { timeoutMs: 5_000 });
  const is413 = (detail: RegExp) => (e: unknown) =>
    e instanceof MicroError && e.code === 413 && detail.test(e.detail);

  test("a request over the limit fails alone with 413, at once; calls beside it and after it succeed", async () => {
    const t0 = Date.now();
    // The big call comes last, while the others are in flight on the same connection.
    const settled = await Promise.allSettled([
      ...Array.from({ length: 20 }, (_, i) => call(`ok ${i}`)),
      call("x".repeat(2000)),
    ]);
    const big = settled.pop();
    const others = settled;
    assert.equal(big?.status, "rejected");
    assert.ok(is413(/body of \d+ bytes exceeds the limit of 1024/)((big as PromiseRejectedResult).reason));
    assert.ok(Date.now() - t0 < 2_000, "not a timeout");
    for (const [i, r] of others.entries()) {
      assert.deepEqual(r, { status: "fulfilled", value: { data: `ok ${i}` } });
    }
    assert.deepEqual(await call("after"), { data: "after" });
  });

  test("a reply over the limit reaches the caller as a 413 error, not a timeout", async () => {
    const t0 = Date.now();
    await assert.rejects(call("y".repeat(100), 20), is413(/reply too large: .*exceeds the limit of 1024/));
    assert.ok(Date.now() - t0 < 2_000, "not a timeout");
    assert.deepEqual(await call("after"), { data: "after" });
  });
});
