import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { create, createRegistry } from "@bufbuild/protobuf";
import { createJsonCodec } from "@microts/core";
import { codecContract } from "@microts/testing";
import {
  HelloRequestSchema,
  ProfileSchema,
  StreamingRequestSchema,
  StreamingResponseSchema,
} from "./gen/greeter_pb.js";
import { createProtoJsonCodec } from "./protojson-codec.js";
import { bound, text, throwsMicro } from "./test-util.js";

const codec = createProtoJsonCodec();
const enc = (s: string) => new TextEncoder().encode(s);

codecContract("protojson (greeter.Profile)", {
  codec: bound(codec, ProfileSchema),
  samples: [
    create(ProfileSchema),
    create(ProfileSchema, {
      displayName: "Zoë <admin> & \u2028",
      age: -3,
      visits: 18446744073709551615n,
      avatar: new Uint8Array([0, 1, 255]),
      tags: ["a", "b"],
      home: { city: "Oslo", geo: { lat: 59.9 } },
      status: 1,
      labels: { k: "v", a: "b" },
      score: 0.5,
    }),
  ],
  zero: create(ProfileSchema),
  invalid: [enc("{"), enc('{"nope":1}'), enc('{"age":"x"}'), enc("[1]"), new Uint8Array([0xff])],
});

const samples = [{ name: "Alice" }, { a: [1, 2, { b: null }], s: "<&>" }, "text", 42, true, null, []];
codecContract("protojson without a schema (plain JSON)", {
  codec: createProtoJsonCodec(),
  samples,
  zero: {},
  invalid: [enc("{"), enc("nul")],
});

describe("protojson codec", () => {
  test("reference §3.7 D / §10 E3 bytes: int64 as strings, zero message {}, trailing newline", () => {
    assert.equal(text(codec.marshal({ count: 2n }, StreamingRequestSchema)), '{"count":"2"}\n');
    assert.equal(text(codec.marshal({ count: 0n }, StreamingResponseSchema)), "{}\n");
    assert.equal(text(codec.marshal({ count: 1n }, StreamingResponseSchema)), '{"count":"1"}\n');
    const req = codec.unmarshal(enc('{"count":"2"}\n'), StreamingRequestSchema) as { count: bigint };
    assert.equal(req.count, 2n);
    // protojson also reads 64-bit integers written as numbers.
    assert.equal(
      (codec.unmarshal(enc('{"count":2}'), StreamingRequestSchema) as { count: bigint }).count,
      2n,
    );
  });

  test("Go's bytes for a message with every kind of field", () => {
    const msg = create(ProfileSchema, {
      displayName: "a<b>&\u007f\n",
      age: 3,
      visits: 10n,
      admin: true,
      avatar: new Uint8Array([0, 1, 255]),
      tags: ["x"],
      home: { city: "X", geo: { lat: 1.5 } },
      status: 1,
      labels: { b: "1", a: "2", "10": "x", "9": "y" },
      score: 0.1,
    });
    assert.equal(
      text(codec.marshal(msg, ProfileSchema)),
      '{"displayName":"a\\u003cb\\u003e\\u0026\u007f\\n","age":3,"visits":"10","admin":true,"avatar":"AAH/",' +
        '"tags":["x"],"home":{"city":"X","geo":{"lat":1.5}},"status":"STATUS_ACTIVE",' +
        '"labels":{"10":"x","9":"y","a":"2","b":"1"},"score":0.1}\n',
    );
  });

  test("reads both lowerCamelCase and proto field names", () => {
    const a = codec.unmarshal(enc('{"displayName":"x"}'), ProfileSchema);
    const b = codec.unmarshal(enc('{"display_name":"x"}'), ProfileSchema);
    assert.deepEqual(a, b);
    assert.equal((a as { displayName: string }).displayName, "x");
  });

  test("unknown fields are rejected like Go's protojson, or ignored when configured", () => {
    throwsMicro(() => codec.unmarshal(enc('{"name":"x","extra":1}'), HelloRequestSchema), 400, /extra/);
    const lenient = createProtoJsonCodec({ ignoreUnknownFields: true });
    assert.deepEqual(
      lenient.unmarshal(enc('{"name":"x","extra":1}'), HelloRequestSchema),
      create(HelloRequestSchema, { name: "x" }),
    );
  });

  test("options: proto names, zero values, enum numbers, no newline", () => {
    const c = createProtoJsonCodec({
      useProtoFieldName: true,
      emitDefaultValues: true,
      enumAsInteger: true,
      trailingNewline: false,
    });
    const out = text(c.marshal({ displayName: "x" }, ProfileSchema));
    assert.ok(out.startsWith('{"display_name":"x","age":0,"visits":"0","admin":false,'), out);
    assert.match(out, /"status":0/);
    assert.ok(!out.endsWith("\n"));
  });

  test("an empty or blank body is the empty message", () => {
    assert.deepEqual(codec.unmarshal(new Uint8Array(0), HelloRequestSchema), create(HelloRequestSchema));
    assert.deepEqual(codec.unmarshal(enc(" \n"), HelloRequestSchema), create(HelloRequestSchema));
  });

  test("without a schema it writes exactly what core's JSON codec writes", () => {
    const core = createJsonCodec();
    for (const v of [...samples, { bytes: new Uint8Array([1, 2]) }, undefined]) {
      assert.deepEqual(codec.marshal(v), core.marshal(v));
    }
  });

  test("a message without a schema: encoded through the registry, else a 500", () => {
    const msg = create(HelloRequestSchema, { name: "Alice" });
    throwsMicro(() => codec.marshal(msg), 500, /greeter\.HelloRequest/);
    const withRegistry = createProtoJsonCodec({ registry: createRegistry(HelloRequestSchema) });
    assert.equal(text(withRegistry.marshal(msg)), '{"name":"Alice"}\n');
  });

  test("float fields are written with float32's shortest digits, doubles as JS does", () => {
    const out = text(codec.marshal({ score: 3.14, home: { geo: { lat: 1e-7, lng: 1e21 } } }, ProfileSchema));
    assert.equal(out, '{"home":{"geo":{"lat":1e-7,"lng":1e+21}},"score":3.14}\n');
  });
});
