import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { create, createRegistry } from "@bufbuild/protobuf";
import { codecContract } from "@microts/testing";
import {
  HelloRequestSchema,
  ProfileSchema,
  RequestSchema,
  ResponseSchema,
  StreamingRequestSchema,
  StreamingResponseSchema,
} from "./gen/greeter_pb.js";
import { createProtobufCodec } from "./protobuf-codec.js";
import { bound, hex, throwsMicro, unhex } from "./test-util.js";

const codec = createProtobufCodec();

codecContract("protobuf (greeter.Profile)", {
  codec: bound(codec, ProfileSchema),
  samples: [
    create(ProfileSchema),
    create(ProfileSchema, {
      displayName: "Zoë <admin>",
      age: -3,
      visits: 18446744073709551615n,
      admin: true,
      avatar: new Uint8Array([0, 1, 255]),
      tags: ["a", "b"],
      home: { city: "Oslo", geo: { lat: 59.9, lng: 10.7 } },
      status: 1,
      labels: { k: "v" },
      score: 0.5,
      addresses: [{ city: "x" }],
    }),
  ],
  zero: create(ProfileSchema),
  invalid: [unhex("0a05416c"), unhex("0a02fffe"), unhex("ff"), unhex("0a")],
});

describe("protobuf codec", () => {
  test("content type and name", () => {
    assert.equal(codec.contentType, "application/protobuf");
    assert.equal(codec.name, "proto");
  });

  test("reference §3.7 C: request and response bytes", () => {
    assert.equal(hex(codec.marshal({ name: "Alice" }, RequestSchema)), "0a05416c696365");
    assert.equal(hex(codec.marshal({ msg: "Hello Alice" }, ResponseSchema)), "0a0b48656c6c6f20416c696365");
    const req = codec.unmarshal(unhex("0a05416c696365"), RequestSchema);
    assert.deepEqual(req, create(RequestSchema, { name: "Alice" }));
  });

  test("reference §10 E3: streaming counts (count 0 is 0 bytes)", () => {
    assert.equal(hex(codec.marshal({ count: 2n }, StreamingRequestSchema)), "0802");
    assert.equal(hex(codec.marshal({ count: 1n }, StreamingResponseSchema)), "0801");
    assert.equal(codec.marshal({ count: 0n }, StreamingResponseSchema).byteLength, 0);
    assert.equal(codec.marshal(create(StreamingResponseSchema), StreamingResponseSchema).byteLength, 0);
    assert.deepEqual(
      codec.unmarshal(new Uint8Array(0), StreamingResponseSchema),
      create(StreamingResponseSchema),
    );
    assert.equal((codec.unmarshal(unhex("0802"), StreamingRequestSchema) as { count: bigint }).count, 2n);
  });

  test("marshal takes a message or an init object, the same bytes", () => {
    const msg = create(HelloRequestSchema, { name: "Alice" });
    assert.deepEqual(
      codec.marshal(msg, HelloRequestSchema),
      codec.marshal({ name: "Alice" }, HelloRequestSchema),
    );
  });

  test("a message of another type is a 500, not silently re-encoded", () => {
    throwsMicro(
      () => codec.marshal(create(ResponseSchema, { msg: "x" }), RequestSchema),
      500,
      /greeter\.Response.*greeter\.Request/,
    );
  });

  test("without a schema: bytes pass through both ways, other values are a 500", () => {
    const raw = unhex("0a05416c696365");
    assert.equal(codec.marshal(raw), raw);
    assert.equal(codec.unmarshal(raw), raw);
    assert.equal(codec.marshal(undefined).byteLength, 0);
    throwsMicro(() => codec.marshal({ name: "Alice" }), 500, /no protobuf schema for this endpoint/);
  });

  test("a message without a schema is encoded when the registry knows its type (publish)", () => {
    const msg = create(HelloRequestSchema, { name: "Alice" });
    throwsMicro(() => codec.marshal(msg), 500, /no protobuf schema/);
    const withRegistry = createProtobufCodec({ registry: createRegistry(HelloRequestSchema) });
    assert.equal(hex(withRegistry.marshal(msg)), "0a05416c696365");
  });

  test("a type that is not a message schema is a 500", () => {
    throwsMicro(
      () => codec.marshal({ name: "x" }, { some: "thing" }),
      500,
      /not a protobuf-es message schema/,
    );
  });

  test("malformed bytes are a 400 naming the message type", () => {
    throwsMicro(() => codec.unmarshal(unhex("0a05416c"), RequestSchema), 400, /greeter\.Request/);
  });

  test("unknown fields survive a round trip, as in Go", () => {
    // Field 9 (varint 7) is not in greeter.Request.
    const bytes = unhex("0a01614807");
    const msg = codec.unmarshal(bytes, RequestSchema);
    assert.equal(hex(codec.marshal(msg, RequestSchema)), "0a01614807");
  });
});
