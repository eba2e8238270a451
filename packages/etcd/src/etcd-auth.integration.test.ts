import assert from "node:assert/strict";
import { after, test } from "node:test";
import { isMicroError } from "@microts/core";
import { startEtcd } from "@microts/testing/servers/etcd";
import { createEtcdRegistry } from "./index.js";

// A separate etcd: enabling authentication changes the whole server. Tokens live 1 s here so
// the re-authentication path runs.
const etcd = await startEtcd({ args: ["--auth-token-ttl=1"] });
after(() => etcd[Symbol.asyncDispose]());

async function raw(path: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
  const res = await fetch(`${etcd.url}${path}`, {
    method: "POST",
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(5000),
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (!res.ok) throw new Error(`${path}: ${JSON.stringify(json)}`);
  return json;
}

await raw("/v3/auth/user/add", { name: "root", password: "rootpw" });
await raw("/v3/auth/role/add", { name: "root" });
await raw("/v3/auth/user/grant", { user: "root", role: "root" });
await raw("/v3/auth/enable", {});

test("with username/password the registry authenticates, and again when the token expires", {
  timeout: 15_000,
}, async () => {
  const r = createEtcdRegistry({ address: etcd.address, username: "root", password: "rootpw" });
  try {
    await r.register(
      { name: "authed", version: "1", endpoints: [], nodes: [{ id: "n1", address: "x:1", metadata: {} }] },
      { ttlMs: 5_000 },
    );
    assert.equal((await r.getService("authed"))[0]?.nodes[0]?.id, "n1");
    // The token expires; the next call authenticates again transparently.
    await new Promise((res) => setTimeout(res, 2_500));
    assert.equal((await r.getService("authed"))[0]?.nodes[0]?.id, "n1");
  } finally {
    await r.close();
  }
});

test("without credentials an auth-enabled etcd refuses, and a wrong password is a clear error", async () => {
  const anonymous = createEtcdRegistry({ address: etcd.address, username: "", password: "" });
  const wrong = createEtcdRegistry({ address: etcd.address, username: "root", password: "nope" });
  try {
    await assert.rejects(anonymous.getService("authed"), (e: unknown) => isMicroError(e) && e.code >= 400);
    await assert.rejects(
      wrong.getService("authed"),
      (e: unknown) => isMicroError(e) && /authentication failed/i.test(e.detail),
    );
  } finally {
    await anonymous.close();
    await wrong.close();
  }
});
