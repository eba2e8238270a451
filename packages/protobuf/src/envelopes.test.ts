import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { RequestSchema, ResponseSchema } from "./gen/greeter_pb.js";
import { createProtobufCodec } from "./protobuf-codec.js";
import {
  decodeProtoRpcRequest,
  decodeProtoRpcResponse,
  encodeProtoRpcRequest,
  encodeProtoRpcResponse,
} from "./protorpc-envelope.js";
import { hex, throwsMicro, unhex } from "./test-util.js";

const enc = (s: string) => new TextEncoder().encode(s);

describe("proto-RPC envelope (reference §3.4)", () => {
  const proto = createProtobufCodec();

  test("request bytes: netstring(Request{service_method, seq fixed64}) + netstring(body)", () => {
    const body = proto.marshal({ name: "Alice" }, RequestSchema);
    const out = encodeProtoRpcRequest({ serviceMethod: "Greeter.Hello", seq: "1", body });
    assert.equal(
      hex(out),
      // 24-byte header: 0a 0d "Greeter.Hello", 11 + fixed64 1 little-endian; then the 7-byte body.
      "00000018" +
        "0a0d" +
        hex(enc("Greeter.Hello")) +
        "11" +
        "0100000000000000" +
        "00000007" +
        "0a05416c696365",
    );
  });

  test("seq 0 and an empty body: proto3 omits zero values, the body netstring is empty", () => {
    const out = encodeProtoRpcRequest({ serviceMethod: "A.B", seq: 0 });
    assert.equal(hex(out), `00000005 0a03${hex(enc("A.B"))} 00000000`.replace(/ /g, ""));
  });

  test("response bytes carry the error in field 3", () => {
    const out = encodeProtoRpcResponse({ serviceMethod: "A.B", seq: 2n, error: "boom" });
    assert.equal(
      hex(out),
      [
        "00000014",
        `0a03${hex(enc("A.B"))}`,
        "110200000000000000",
        `1a04${hex(enc("boom"))}`,
        "00000000",
      ].join(""),
    );
  });

  test("ids follow Go's id(): int64 text, reinterpreted as uint64; other text is 0", () => {
    assert.equal(
      decodeProtoRpcRequest(encodeProtoRpcRequest({ serviceMethod: "A.B", seq: "-1" })).seq,
      2n ** 64n - 1n,
    );
    assert.equal(decodeProtoRpcRequest(encodeProtoRpcRequest({ serviceMethod: "A.B", seq: "abc" })).seq, 0n);
  });

  test("round trips", () => {
    const body = proto.marshal({ msg: "Hello Alice" }, ResponseSchema);
    const res = decodeProtoRpcResponse(
      encodeProtoRpcResponse({ serviceMethod: "Greeter.Hello", seq: 5, body }),
    );
    assert.deepEqual(res, { serviceMethod: "Greeter.Hello", seq: 5n, error: "", body });
    assert.deepEqual(proto.unmarshal(res.body, ResponseSchema), proto.unmarshal(body, ResponseSchema));
  });

  test("unknown header fields are skipped, as protobuf does", () => {
    // Request header with an extra varint field 7 = 1.
    const header = unhex(`0a03${hex(enc("A.B"))}3801`);
    const env = unhex(`0000000${header.byteLength.toString(16)}${hex(header)}00000000`);
    assert.equal(decodeProtoRpcRequest(env).serviceMethod, "A.B");
  });

  test("truncated, trailing or malformed envelopes are a 400", () => {
    for (const bad of [
      "",
      "000000",
      "00000005 0a03",
      "00000000",
      "00000000 00000001",
      "00000000 00000000 00",
      "00000002 0a05 00000000",
      "00000002 0aff 00000000",
    ]) {
      throwsMicro(() => decodeProtoRpcRequest(unhex(bad)), 400);
    }
  });
});
