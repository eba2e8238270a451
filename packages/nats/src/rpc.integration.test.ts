import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import type { Client, Registry, Server, Transport } from "@microts/core";
import { createClient, createServer, silentLogger } from "@microts/core";
import { rpcContract } from "@microts/testing";
import { createNatsRegistry } from "./nats-registry.js";
import { createNatsTransport } from "./nats-transport.js";

const address = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
const run = randomBytes(4).toString("hex");
const topics = { queryTopic: `test.${run}.query`, watchTopic: `test.${run}.watch` };
const service = `greeter-${run}`;

// The RPC protocol end to end over the NATS transport, nodes found through the NATS registry.
rpcContract("nats", {
  create: () => createNatsTransport({ address }),
  registry: () => createNatsRegistry({ address, ...topics }),
  listenAddress: ":0",
});

// What is particular to NATS: inbox addresses, payloads above max_payload, registry lookups.
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
    server.handleFunction("Greeter.Big", async (req: { size: number }) => ({ data: "x".repeat(req.size) }));
    server.handleFunction("Greeter.Length", async (req: { data: string }) => ({ length: req.data.length }));
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

  test("a 2 MB response crosses NATS's max_payload in chunks", async () => {
    const rsp = await client.call<{ data: string }>(service, "Greeter.Big", { size: 2_000_000 });
    assert.equal(rsp.data.length, 2_000_000);
  });

  test("a 2 MB request crosses max_payload in chunks, reassembled by the listener", async () => {
    // A fresh client has a fresh connection: its first request goes as Go's JSON envelope, the
    // second as a frame (the first reply was one). Both are larger than max_payload.
    const fresh = createClient({
      registry: clientRegistry,
      transport: clientTransport,
      logger: silentLogger,
    });
    try {
      for (let i = 0; i < 2; i++) {
        const rsp = await fresh.call<{ length: number }>(service, "Greeter.Length", {
          data: "y".repeat(2_000_000),
        });
        assert.equal(rsp.length, 2_000_000);
      }
    } finally {
      await fresh.close();
    }
  });

  test("a call to a service nobody registered fails with 'not found' (as Go's client: 500)", async () => {
    await assert.rejects(client.call(`nobody-${run}`, "X.Y", {}), { code: 500, detail: /not found/ });
  });
});
