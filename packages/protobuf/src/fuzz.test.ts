import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeJsonRpcRequest, decodeJsonRpcResponse, MicroError } from "@microts/core";
import fc from "fast-check";
import { ProfileSchema, RequestSchema } from "./gen/greeter_pb.js";
import { createGrpcCodec } from "./grpc-codec.js";
import { decodeGrpcFrame, encodeGrpcFrame } from "./grpc-frame.js";
import { createProtobufCodec } from "./protobuf-codec.js";
import { createProtoJsonCodec } from "./protojson-codec.js";
import { decodeProtoRpcRequest, decodeProtoRpcResponse } from "./protorpc-envelope.js";

/** `fn` either returns or throws MicroError 400; anything else fails the property. */
function onlyBadRequest(fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch (err) {
    if (err instanceof MicroError && err.code === 400) return true;
    throw err;
  }
}

const RUNS = { numRuns: 2_000 };
const bytes = fc.uint8Array({ maxLength: 256 });

test("protobuf unmarshal of random bytes: a message or a 400, never another error", {
  timeout: 60_000,
}, () => {
  const codec = createProtobufCodec();
  fc.assert(
    fc.property(bytes, (b) => onlyBadRequest(() => codec.unmarshal(b, ProfileSchema))),
    RUNS,
  );
  // Valid tags with random payloads reach deeper into the decoder than random bytes.
  const field = fc.tuple(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 0, max: 7 }), bytes);
  fc.assert(
    fc.property(fc.array(field, { maxLength: 8 }), (fields) => {
      const parts = fields.flatMap(([no, wt, payload]) => [(no << 3) | wt, ...payload.subarray(0, 12)]);
      return onlyBadRequest(() => codec.unmarshal(new Uint8Array(parts), ProfileSchema));
    }),
    RUNS,
  );
});

test("protojson unmarshal of random bytes and random JSON: a message or a 400", { timeout: 60_000 }, () => {
  const codec = createProtoJsonCodec();
  fc.assert(
    fc.property(bytes, (b) => onlyBadRequest(() => codec.unmarshal(b, ProfileSchema))),
    RUNS,
  );
  fc.assert(
    fc.property(fc.json({ maxDepth: 4 }), (text) =>
      onlyBadRequest(() => codec.unmarshal(new TextEncoder().encode(text), ProfileSchema)),
    ),
    RUNS,
  );
});

test("gRPC deframer: random bytes decode or throw 400; valid frames always decode", {
  timeout: 60_000,
}, () => {
  const proto = createGrpcCodec();
  const json = createGrpcCodec({ subtype: "json" });
  fc.assert(
    fc.property(bytes, (b) =>
      onlyBadRequest(() => {
        decodeGrpcFrame(b);
        proto.unmarshal(b, RequestSchema);
        json.unmarshal(b, RequestSchema);
      }),
    ),
    RUNS,
  );
  fc.assert(
    fc.property(bytes, (body) => {
      assert.deepEqual(decodeGrpcFrame(encodeGrpcFrame(body)), body);
    }),
    RUNS,
  );
});

test("legacy envelopes: random bytes decode or throw 400", { timeout: 60_000 }, () => {
  fc.assert(
    fc.property(
      bytes,
      (b) =>
        onlyBadRequest(() => decodeProtoRpcRequest(b)) &&
        onlyBadRequest(() => decodeProtoRpcResponse(b)) &&
        onlyBadRequest(() => decodeJsonRpcRequest(b)) &&
        onlyBadRequest(() => decodeJsonRpcResponse(b)),
    ),
    RUNS,
  );
  fc.assert(
    fc.property(fc.json({ maxDepth: 4 }), (text) => {
      const b = new TextEncoder().encode(text);
      return onlyBadRequest(() => decodeJsonRpcRequest(b)) && onlyBadRequest(() => decodeJsonRpcResponse(b));
    }),
    RUNS,
  );
});

test("JSON-RPC: params[0] comes back as the same JSON, whatever the formatting", { timeout: 60_000 }, () => {
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 4 }), fc.constantFrom(0, 1, 2, "\t"), (value, space) => {
      const body = JSON.stringify(value, null, space);
      const env = `{ "id" : 1 ,"params":[ ${body} , 2 ],\n"method":"A.B"}`;
      const req = decodeJsonRpcRequest(new TextEncoder().encode(env));
      assert.equal(new TextDecoder().decode(req.params), body);
    }),
    RUNS,
  );
});
