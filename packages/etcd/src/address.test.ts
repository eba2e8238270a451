import assert from "node:assert/strict";
import { test } from "node:test";
import { isMicroError } from "@microts/core";
import { parseEndpoints } from "./address.js";

test("parseEndpoints accepts host:port, etcd:// and http:// and adds port 2379", () => {
  assert.deepEqual(parseEndpoints("127.0.0.1:2379"), ["http://127.0.0.1:2379"]);
  assert.deepEqual(parseEndpoints("etcd://10.0.0.1:4001"), ["http://10.0.0.1:4001"]);
  assert.deepEqual(parseEndpoints("http://localhost:1234"), ["http://localhost:1234"]);
  assert.deepEqual(parseEndpoints("etcd1"), ["http://etcd1:2379"]);
  assert.deepEqual(parseEndpoints("[::1]:2380"), ["http://[::1]:2380"]);
});

test("parseEndpoints keeps the order of a comma-separated list", () => {
  assert.deepEqual(parseEndpoints(" a:1 , etcd://b:2,,http://c "), [
    "http://a:1",
    "http://b:2",
    "http://c:2379",
  ]);
});

test("parseEndpoints rejects empty lists, TLS and paths with 400", () => {
  for (const bad of ["", " , ", "https://a:2379", "unix:///tmp/etcd.sock", "a:2379/v3"]) {
    assert.throws(
      () => parseEndpoints(bad),
      (e: unknown) => isMicroError(e, 400),
      bad,
    );
  }
});
