import assert from "node:assert/strict";
import { test } from "node:test";
import { acceptSource } from "./sockets.js";

const loopback = { group: "224.0.0.251", port: 5353, iface: "127.0.0.1" };

test("a loopback registry answers this host only", () => {
  assert.equal(acceptSource(loopback, "127.0.0.1"), true);
  assert.equal(acceptSource(loopback, "127.3.2.1"), true);
  assert.equal(acceptSource(loopback, "192.0.2.77"), false);
  assert.equal(acceptSource(loopback, "::1"), false);
});

test("a query from 0.0.0.0 is from this host (Go's wildcard-bound querier on a lo-only route)", () => {
  assert.equal(acceptSource(loopback, "0.0.0.0"), true);
});

test("a LAN registry accepts any source", () => {
  assert.equal(acceptSource({ ...loopback, iface: "192.0.2.10" }, "192.0.2.77"), true);
});
