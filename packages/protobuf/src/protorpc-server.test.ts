import assert from "node:assert/strict";
import { test } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  createMemoryRegistry,
  createMemoryTransport,
  createServer,
  jsonRpcEnvelope,
  MicroError,
  silentLogger,
} from "@microts/core";
import { type Request, RequestSchema, ResponseSchema } from "./gen/greeter_pb.js";
import { createProtobufCodec } from "./protobuf-codec.js";
import { decodeProtoRpcResponse, encodeProtoRpcRequest } from "./protorpc-envelope.js";
import { protoRpcEnvelope } from "./protorpc-envelope-plugin.js";

test("a header-less protobuf request is read from Go Micro's proto-RPC envelope", async () => {
  const transport = createMemoryTransport();
  const server = createServer({
    name: "legacy",
    registry: createMemoryRegistry(),
    transport,
    codecs: [createProtobufCodec()],
    envelopes: [jsonRpcEnvelope(), protoRpcEnvelope()],
    logger: silentLogger,
  });
  server.handleFunction(
    "Greeter.Hello",
    async (req: Request) => {
      if (!req.name) throw MicroError.badRequest("legacy", "name is required");
      return create(ResponseSchema, { msg: `Hello ${req.name}` });
    },
    { spec: { requestType: RequestSchema, responseType: ResponseSchema } },
  );
  await server.start();
  const sock = await transport.dial(server.address as string);

  await sock.send({
    header: { "Content-Type": "application/protobuf" },
    body: encodeProtoRpcRequest({
      serviceMethod: "Greeter.Hello",
      seq: 5,
      body: toBinary(RequestSchema, create(RequestSchema, { name: "Alice" })),
    }),
  });
  const ok = decodeProtoRpcResponse((await sock.recv({ timeoutMs: 2000 })).body);
  assert.equal(ok.seq, 5n);
  assert.equal(ok.error, "");
  assert.equal(fromBinary(ResponseSchema, ok.body).msg, "Hello Alice");

  await sock.send({
    header: { "Content-Type": "application/proto-rpc" },
    body: encodeProtoRpcRequest({ serviceMethod: "Greeter.Hello", seq: 6 }),
  });
  const failed = decodeProtoRpcResponse((await sock.recv({ timeoutMs: 2000 })).body);
  assert.equal(failed.seq, 6n);
  assert.equal(MicroError.parse(failed.error).code, 400);

  await sock.close();
  await server.stop();
});
