import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { MicroError } from "../errors/micro-error.js";
import {
  decodeJsonRpcRequest,
  decodeJsonRpcResponse,
  encodeJsonRpcRequest,
  encodeJsonRpcResponse,
} from "./json-rpc-envelope.js";

const enc = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);
function throwsMicro(fn: () => unknown, code: number, detail?: RegExp): MicroError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof MicroError, `expected a MicroError, got ${String(err)}`);
    assert.equal(err.code, code);
    if (detail) assert.match(err.detail, detail);
    return err;
  }
  assert.fail("expected a MicroError to be thrown");
}

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
