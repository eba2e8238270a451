import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Client, Context, Registry, Server, Transport } from "@microts/core";
import { createClient, createMemoryRegistry, createServer, silentLogger } from "@microts/core";
import { rpcContract } from "@microts/testing";
import { createHttpTransport } from "./http-transport.js";

// The RPC protocol end to end (unary, errors, every stream kind, deadlines, cancellation).
rpcContract("http", { create: () => createHttpTransport(), listenAddress: "127.0.0.1:0" });

// What is particular to HTTP: the registered address, and metadata values beyond ASCII in headers.
describe("RPC over the http transport", { timeout: 30_000 }, () => {
  let registry: Registry;
  let transport: Transport;
  let server: Server;
  let client: Client;

  before(async () => {
    registry = createMemoryRegistry();
    transport = createHttpTransport();
    server = createServer({ name: "greeter", registry, transport, logger: silentLogger });
    server.handleFunction("Greeter.Hello", async (req: { name: string }, ctx: Context) => ({
      msg: `Hello ${req.name}`,
      user: ctx.metadata.get("x-user"),
    }));
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

  test("metadata values beyond ASCII survive the HTTP headers", async () => {
    const rsp = await client.call<{ msg: string; user: string }>(
      "greeter",
      "Greeter.Hello",
      { name: "Ada" },
      { metadata: { "X-User": "u-ü ✓" } },
    );
    assert.deepEqual(rsp, { msg: "Hello Ada", user: "u-ü ✓" });
  });
});
