import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { RequestSchema, ResponseSchema } from "./gen/greeter_pb.js";
import {
  decodeJsonRpcRequest,
  decodeJsonRpcResponse,
  encodeJsonRpcRequest,
  encodeJsonRpcResponse,
} from "./jsonrpc-envelope.js";
import { createProtobufCodec } from "./protobuf-codec.js";
import {
  decodeProtoRpcRequest,
  decodeProtoRpcResponse,
  encodeProtoRpcRequest,
  encodeProtoRpcResponse,
} from "./protorpc-envelope.js";
import { hex, text, throwsMicro, unhex } from "./test-util.js";

const enc = (s: string) => new TextEncoder().encode(s);

describe("JSON-RPC 1.0 envelope (reference §3.4)", () => {
  test("request bytes: params, id as a string, method, newline", () => {
    const out = encodeJsonRpcRequest({ method: "Greeter.Hello", id: 0, params: enc('{"name":"Alice"}\n') });
    assert.equal(text(out), '{"params":[{"name":"Alice"}],"id":"0","method":"Greeter.Hello"}\n');
    // A value is written as Go's encoding/json would (HTML escaping).
    assert.equal(
      text(encodeJsonRpcRequest({ method: "A.B", id: "7", params: { s: "<x>" } })),
      '{"params":[{"s":"\\u003cx\\u003e"}],"id":"7","method":"A.B"}\n',
    );
    assert.equal(
      text(encodeJsonRpcRequest({ method: "A.B", id: "1" })),
      '{"params":[null],"id":"1","method":"A.B"}\n',
    );
  });

  test("response bytes: result or null, error null or a string", () => {
    assert.equal(
      text(encodeJsonRpcResponse({ id: "0", result: enc('{"message":"Hello Alice"}\n') })),
      '{"id":"0","result":{"message":"Hello Alice"},"error":null}\n',
    );
    const err = '{"id":"greeter","code":404,"detail":"no such user","status":"Not Found"}';
    assert.equal(
      text(encodeJsonRpcResponse({ id: "3", error: err })),
      `{"id":"3","result":null,"error":${JSON.stringify(err)}}\n`,
    );
  });

  test("decoding a request keeps the body's raw JSON (64-bit integers intact)", () => {
    const req = decodeJsonRpcRequest(
      enc('{ "method": "Greeter.Hello", "params": [ {"n": 12345678901234567890, "s":"]}"} ], "id": "0" }\n'),
    );
    assert.equal(req.method, "Greeter.Hello");
    assert.equal(req.id, "0");
    assert.equal(text(req.params), '{"n": 12345678901234567890, "s":"]}"}');
  });

  test("request ids are printed as Go's %v prints them", () => {
    const id = (raw: string) => decodeJsonRpcRequest(enc(`{"method":"A.B","params":[],"id":${raw}}`)).id;
    assert.equal(id("1"), "1");
    assert.equal(id("123456"), "123456");
    assert.equal(id("1000000"), "1e+06");
    assert.equal(id("null"), "<nil>");
    assert.equal(id('"abc"'), "abc");
  });

  test("missing, null or empty params give an empty body", () => {
    for (const env of [
      '{"method":"A.B","id":"1"}',
      '{"method":"A.B","params":null}',
      '{"method":"A.B","params":[]}',
    ]) {
      assert.equal(decodeJsonRpcRequest(enc(env)).params.byteLength, 0, env);
    }
  });

  test("round trip through encode and decode", () => {
    const body = '{"name":"Zoë"}';
    const req = decodeJsonRpcRequest(encodeJsonRpcRequest({ method: "G.H", id: "9", params: enc(body) }));
    assert.deepEqual({ ...req, params: text(req.params) }, { method: "G.H", id: "9", params: body });
    const res = decodeJsonRpcResponse(encodeJsonRpcResponse({ id: "9", result: enc(body) }));
    assert.deepEqual({ ...res, result: text(res.result) }, { id: "9", result: body, error: undefined });
  });

  test("response errors: strings kept, empty string is 'unspecified error', non-strings are a 400", () => {
    assert.equal(decodeJsonRpcResponse(enc('{"id":"1","result":null,"error":"boom"}')).error, "boom");
    assert.equal(decodeJsonRpcResponse(enc('{"id":"1","error":""}')).error, "unspecified error");
    assert.equal(decodeJsonRpcResponse(enc('{"id":"1","result":{"a":1},"error":null}')).error, undefined);
    throwsMicro(() => decodeJsonRpcResponse(enc('{"id":"1","error":{"code":1}}')), 400, /invalid error/);
  });

  test("malformed envelopes are a 400", () => {
    for (const bad of ["", "{", "[1]", '{"method":5}', '{"method":"A.B","params":{"a":1}}']) {
      throwsMicro(() => decodeJsonRpcRequest(enc(bad)), 400);
    }
    throwsMicro(() => decodeJsonRpcRequest(new Uint8Array([0xff])), 400);
  });
});

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
