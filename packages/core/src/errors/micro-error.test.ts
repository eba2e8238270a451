import assert from "node:assert/strict";
import { test } from "node:test";
import { Code } from "./codes.js";
import { MicroError } from "./micro-error.js";

test("wire form matches Go's errors.Error JSON byte for byte", () => {
  const e = MicroError.notFound("greeter", "no such user");
  assert.equal(String(e), '{"id":"greeter","code":404,"detail":"no such user","status":"Not Found"}');
});

test("Go's HTML escaping is reproduced in details", () => {
  const e = MicroError.badRequest("svc", "a<b & c>d");
  assert.equal(
    String(e),
    '{"id":"svc","code":400,"detail":"a\\u003cb \\u0026 c\\u003ed","status":"Bad Request"}',
  );
  assert.equal(MicroError.parse(String(e)).detail, "a<b & c>d");
});

test("parse round-trips every constructor", () => {
  const all = [
    MicroError.badRequest("a", "x"),
    MicroError.unauthorized("a", "x"),
    MicroError.forbidden("a", "x"),
    MicroError.notFound("a", "x"),
    MicroError.methodNotAllowed("a", "x"),
    MicroError.timeout("a", "x"),
    MicroError.conflict("a", "x"),
    MicroError.internalServerError("a", "x"),
    MicroError.serviceUnavailable("a", "x"),
  ];
  const codes = [400, 401, 403, 404, 405, 408, 409, 500, 503];
  all.forEach((e, i) => {
    const back = MicroError.parse(String(e));
    assert.equal(back.code, codes[i]);
    assert.equal(back.id, "a");
    assert.equal(back.detail, "x");
    assert.equal(back.status, e.status);
  });
});

test("a plain string parses as Go does: code 0, detail = text", () => {
  const e = MicroError.parse("rpc: can't find service Foo");
  assert.equal(e.code, 0);
  assert.equal(e.detail, "rpc: can't find service Foo");
  assert.equal(e.id, "");
});

test("omitempty: zero fields vanish from the JSON", () => {
  assert.equal(String(new MicroError("", "only detail", 0, { status: "" })), '{"detail":"only detail"}');
});

test("from() keeps MicroErrors and wraps other errors as 500 with the cause", () => {
  const orig = MicroError.conflict("x", "y");
  assert.equal(MicroError.from(orig), orig);
  const boom = new TypeError("boom");
  const wrapped = MicroError.from(boom);
  assert.equal(wrapped.code, Code.InternalServerError);
  assert.equal(wrapped.detail, "boom");
  assert.equal(wrapped.cause, boom);
  assert.equal(MicroError.from("str").detail, "str");
});
