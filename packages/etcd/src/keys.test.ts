import assert from "node:assert/strict";
import { test } from "node:test";
import { b64, nodeKey, normalizePrefix, prefixEnd, serviceKeyPrefix, unb64 } from "./keys.js";

test("node keys replace / with - in service and node, as Go Micro's nodePath", () => {
  assert.equal(
    nodeKey("/micro/registry/", "go.micro.srv/greeter", "n/1"),
    "/micro/registry/go.micro.srv-greeter/n-1",
  );
  assert.equal(serviceKeyPrefix("/micro/registry/", "a/b/c"), "/micro/registry/a-b-c/");
});

test("normalizePrefix ends with exactly one slash", () => {
  assert.equal(normalizePrefix("/micro/registry"), "/micro/registry/");
  assert.equal(normalizePrefix("/micro/registry//"), "/micro/registry/");
});

test("prefixEnd increments the last byte and drops trailing 0xff", () => {
  assert.deepEqual([...prefixEnd(Buffer.from("/a/"))], [...Buffer.from("/a0")]);
  assert.deepEqual([...prefixEnd(Uint8Array.of(1, 0xff, 0xff))], [2]);
  assert.deepEqual([...prefixEnd(Uint8Array.of(0xff))], [0]);
});

test("b64/unb64 round-trip UTF-8", () => {
  assert.equal(unb64(b64("/micro/registry/ünï")), "/micro/registry/ünï");
  assert.equal(unb64(undefined), "");
});
