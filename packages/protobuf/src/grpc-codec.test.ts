import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { codecContract } from "@microts/testing";
import { RequestSchema, StreamingRequestSchema } from "./gen/greeter_pb.js";
import { createGrpcCodec, createGrpcCodecs } from "./grpc-codec.js";
import { decodeGrpcFrame, encodeGrpcFrame } from "./grpc-frame.js";
import { bound, hex, text, throwsMicro, unhex } from "./test-util.js";

const proto = createGrpcCodec({ subtype: "proto" });
const json = createGrpcCodec({ subtype: "json" });
const badFrames = [unhex("00"), unhex("0100000000"), unhex("0000000002aa"), unhex("0200000000")];

codecContract("grpc+proto (greeter.Request)", {
  codec: bound(proto, RequestSchema),
  samples: [create(RequestSchema), create(RequestSchema, { name: "Alice" })],
  zero: create(RequestSchema),
  // The last one is a well-framed but truncated protobuf body.
  invalid: [...badFrames, unhex("00000000010a")],
});

codecContract("grpc+json (greeter.StreamingRequest)", {
  codec: bound(json, StreamingRequestSchema),
  samples: [create(StreamingRequestSchema), create(StreamingRequestSchema, { count: -5n })],
  zero: create(StreamingRequestSchema),
  // The last two are well-framed bodies that are not protojson of the type.
  invalid: [
    ...badFrames,
    unhex("00000000017b"),
    unhex("00000000027b7d").subarray(0, 6),
    unhex("00000000025b5d"),
  ],
});

describe("gRPC codec", () => {
  test("content types", () => {
    assert.equal(proto.contentType, "application/grpc+proto");
    assert.equal(json.contentType, "application/grpc+json");
    assert.deepEqual(
      createGrpcCodecs().map((c) => c.contentType),
      ["application/grpc", "application/grpc+proto", "application/grpc+json"],
    );
  });

  test('reference §10 E4: the frame of name "Alice" is 00 00000007 0a05416c696365', () => {
    assert.equal(hex(proto.marshal({ name: "Alice" }, RequestSchema)), "00000000070a05416c696365");
    assert.deepEqual(
      proto.unmarshal(unhex("00000000070a05416c696365"), RequestSchema),
      create(RequestSchema, { name: "Alice" }),
    );
    // An empty message is a 5-byte frame.
    assert.equal(hex(proto.marshal({}, RequestSchema)), "0000000000");
  });

  test("grpc+json carries protojson without a newline", () => {
    const frame = json.marshal({ count: 2n }, StreamingRequestSchema);
    assert.equal(hex(frame.subarray(0, 5)), "000000000d");
    assert.equal(text(frame.subarray(5)), '{"count":"2"}');
  });

  test("compressed frames and wrong lengths are a 400 that says why", () => {
    throwsMicro(() => proto.unmarshal(unhex("01000000020801"), RequestSchema), 400, /compressed/);
    throwsMicro(() => proto.unmarshal(unhex("0000000003080"), RequestSchema), 400);
    throwsMicro(
      () => proto.unmarshal(unhex("00000000030801"), RequestSchema),
      400,
      /declares 3 bytes but carries 2/,
    );
    throwsMicro(() => proto.unmarshal(unhex("000000"), RequestSchema), 400, /shorter than the 5-byte prefix/);
  });

  test("maxMessageBytes bounds the declared length", () => {
    const small = createGrpcCodec({ maxMessageBytes: 4 });
    throwsMicro(() => small.unmarshal(unhex("00000000070a05416c696365"), RequestSchema), 400, /exceeds/);
  });

  test("frame helpers are inverse", () => {
    const body = unhex("deadbeef");
    assert.deepEqual(decodeGrpcFrame(encodeGrpcFrame(body)), body);
    // A frame inside a larger buffer (offset view) decodes too.
    const big = new Uint8Array(16);
    big.set(encodeGrpcFrame(body), 3);
    assert.deepEqual(decodeGrpcFrame(big.subarray(3, 12)), body);
  });
});
