import assert from "node:assert/strict";
import { test } from "node:test";
import { MicroError } from "../errors/micro-error.js";
import { silentLogger } from "../logger/logger.js";
import { createMemoryRegistry } from "../registry/memory-registry.js";
import { decodeJsonRpcResponse, encodeJsonRpcRequest } from "../rpc/json-rpc-envelope.js";
import { createMemoryTransport } from "../transport/memory-transport.js";
import { createServer } from "./rpc-server.js";

const text = (b: Uint8Array) => new TextDecoder().decode(b);

test("a request without routing headers is read from Go Micro's JSON-RPC envelope", async () => {
  const transport = createMemoryTransport();
  const server = createServer({
    name: "legacy",
    registry: createMemoryRegistry(),
    transport,
    logger: silentLogger,
  });
  server.handleFunction("Greeter.Hello", async (req: { name: string }) => {
    if (!req.name) throw MicroError.badRequest("legacy", "name is required");
    return { msg: `Hello ${req.name}` };
  });
  await server.start();
  const sock = await transport.dial(server.address as string);

  // What an old Go client sends to a node without protocol metadata: no Micro-* routing headers.
  await sock.send({
    header: { "Content-Type": "application/json" },
    body: encodeJsonRpcRequest({ method: "Greeter.Hello", id: "7", params: { name: "Ada" } }),
  });
  const ok = await sock.recv({ timeoutMs: 2000 });
  assert.equal(text(ok.body), '{"id":"7","result":{"msg":"Hello Ada"},"error":null}\n');
  assert.equal(ok.header["Micro-Error"], undefined);

  await sock.send({
    header: { "Content-Type": "application/json-rpc" },
    body: encodeJsonRpcRequest({ method: "Greeter.Hello", id: "8", params: { name: "" } }),
  });
  const failed = await sock.recv({ timeoutMs: 2000 });
  const rsp = decodeJsonRpcResponse(failed.body);
  assert.equal(rsp.id, "8");
  assert.equal(MicroError.parse(rsp.error ?? "").code, 400);
  assert.equal(MicroError.parse(failed.header["Micro-Error"] ?? "").detail, "name is required");

  await sock.send({
    header: { "Content-Type": "application/json" },
    body: new TextEncoder().encode("{garbage"),
  });
  const bad = await sock.recv({ timeoutMs: 2000 });
  assert.equal(MicroError.parse(bad.header["Micro-Error"] ?? "").code, 400);

  await sock.close();
  await server.stop();
});
