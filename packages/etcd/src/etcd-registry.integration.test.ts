import assert from "node:assert/strict";
import { type AddressInfo, connect, createServer, type Socket } from "node:net";
import { after, describe, test } from "node:test";
import type { RegistryEvent, ServiceRecord, Watcher } from "@microts/core";
import { isMicroError, MicroError } from "@microts/core";
import { startEtcd } from "@microts/testing/servers/etcd";
import { createEtcdRegistry } from "./index.js";

const etcd = await startEtcd();
after(() => etcd[Symbol.asyncDispose]());

let seq = 0;
const unique = (p: string) => `${p}-${process.pid}-${++seq}`;

/** One raw call to etcd's JSON gateway, bypassing the registry. */
async function raw(path: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
  const res = await fetch(`${etcd.url}${path}`, {
    method: "POST",
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(5000),
  });
  return (await res.json()) as Record<string, unknown>;
}
const b64 = (s: string) => Buffer.from(s).toString("base64");
const unb64 = (s: unknown) => Buffer.from(String(s ?? ""), "base64").toString();

interface RawKv {
  key: string;
  value: string;
  lease: string;
  modRevision: number;
}
async function rawGet(key: string): Promise<RawKv | undefined> {
  const r = await raw("/v3/kv/range", { key: b64(key) });
  const kv = (r.kvs as Record<string, unknown>[] | undefined)?.[0];
  if (!kv) return undefined;
  return {
    key: unb64(kv.key),
    value: unb64(kv.value),
    lease: String(kv.lease ?? ""),
    modRevision: Number(kv.mod_revision),
  };
}

/** Polls `fn` every 50 ms until it returns a truthy value; fails after `ms`. */
async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(
    `timed out after ${ms}ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ""}`,
  );
}

const hasNode = async (r: ReturnType<typeof createEtcdRegistry>, svc: string, id: string) => {
  try {
    return (await r.getService(svc)).some((s) => s.nodes.some((n) => n.id === id));
  } catch {
    return false;
  }
};

function service(name: string, nodeId: string, extra: Partial<ServiceRecord> = {}): ServiceRecord {
  return {
    name,
    version: "1.0.0",
    endpoints: [],
    nodes: [{ id: nodeId, address: "127.0.0.1:9090", metadata: { protocol: "mucp" } }],
    ...extra,
  };
}

/** A Go-shaped record of one node of `name`. */
function goRecord(name: string, id: string, version = "1"): string {
  return JSON.stringify({
    name,
    version,
    metadata: null,
    endpoints: null,
    nodes: [{ metadata: {}, id, address: "x:1" }],
  });
}

/** A TCP proxy to 127.0.0.1:`target` that can be cut (connections dropped, new ones refused). */
async function startProxy(target: number) {
  const sockets = new Set<Socket>();
  const handle = (client: Socket) => {
    const upstream = connect(target, "127.0.0.1");
    sockets.add(client);
    sockets.add(upstream);
    client.pipe(upstream).pipe(client);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
  };
  let server = createServer(handle);
  await new Promise<void>((res) => server.listen(0, "127.0.0.1", res));
  const port = (server.address() as AddressInfo).port;
  const closeServer = () =>
    new Promise<void>((res) => {
      for (const s of sockets) s.destroy();
      server.close(() => res());
    });
  return {
    port,
    cut: closeServer,
    async restore() {
      server = createServer(handle);
      await new Promise<void>((res) => server.listen(port, "127.0.0.1", res));
    },
    close: () => (server.listening ? closeServer() : Promise.resolve()),
  };
}

function collect(w: Watcher): RegistryEvent[] {
  const events: RegistryEvent[] = [];
  void (async () => {
    for await (const e of w) events.push(e);
  })();
  return events;
}

describe("etcd layout and Go compatibility", () => {
  test("writes /micro/registry/<svc>/<node> with / replaced and Go's JSON of the one node", async () => {
    const r = createEtcdRegistry({ address: etcd.address });
    try {
      const name = `go.micro.srv/${unique("layout")}`;
      const record: ServiceRecord = {
        name,
        version: "latest",
        endpoints: [
          {
            name: "Greeter.Hello",
            request: { name: "Request", type: "Request", values: [{ name: "name", type: "string" }] },
            response: { name: "Response", type: "Response", values: [{ name: "message", type: "string" }] },
            metadata: {},
          },
        ],
        nodes: [
          {
            id: "greeter/6c9f",
            address: "10.0.0.5:8080",
            // Deliberately unsorted: Go's encoding/json sorts map keys.
            metadata: {
              transport: "http",
              broker: "http",
              server: "mucp",
              registry: "etcd",
              protocol: "mucp",
            },
          },
          { id: "greeter-other", address: "10.0.0.6:8080", metadata: {} },
        ],
      };
      await r.register(record);
      const kv = await rawGet(`/micro/registry/${name.replace("/", "-")}/greeter-6c9f`);
      assert.ok(kv, "key /micro/registry/go.micro.srv-<name>/greeter-6c9f must exist");
      assert.equal(
        kv.value,
        `{"name":"${name}","version":"latest","metadata":null,` +
          `"endpoints":[{"request":{"name":"Request","type":"Request","values":[{"name":"name","type":"string","values":null}]},` +
          `"response":{"name":"Response","type":"Response","values":[{"name":"message","type":"string","values":null}]},` +
          `"metadata":{},"name":"Greeter.Hello"}],` +
          `"nodes":[{"metadata":{"broker":"http","protocol":"mucp","registry":"etcd","server":"mucp","transport":"http"},` +
          `"id":"greeter/6c9f","address":"10.0.0.5:8080"}]}`,
      );
      assert.equal(kv.lease, "", "no ttlMs: no lease");
      const other = await rawGet(`/micro/registry/${name.replace("/", "-")}/greeter-other`);
      assert.ok(other, "each node has its own key");
      assert.deepEqual(JSON.parse(other.value).nodes, [
        { metadata: {}, id: "greeter-other", address: "10.0.0.6:8080" },
      ]);
    } finally {
      await r.close();
    }
  });

  test("reads records written by Go (nulls, extra fields) and groups them by version", async () => {
    const r = createEtcdRegistry({ address: etcd.address });
    try {
      const name = unique("gowritten");
      const goRecord = (id: string, version: string) =>
        `{"name":"${name}","version":"${version}","metadata":null,"endpoints":null,` +
        `"nodes":[{"metadata":{"protocol":"mucp"},"id":"${id}","address":"10.0.0.7:1","extra":1}]}`;
      await raw("/v3/kv/put", { key: b64(`/micro/registry/${name}/a`), value: b64(goRecord("a", "1")) });
      await raw("/v3/kv/put", { key: b64(`/micro/registry/${name}/b`), value: b64(goRecord("b", "1")) });
      await raw("/v3/kv/put", { key: b64(`/micro/registry/${name}/c`), value: b64(goRecord("c", "2")) });
      await raw("/v3/kv/put", { key: b64(`/micro/registry/${name}/junk`), value: b64("not json") });
      const got = await r.getService(name);
      const byVersion = got.map((s) => [s.version, s.nodes.map((n) => n.id).sort()]).sort();
      assert.deepEqual(byVersion, [
        ["1", ["a", "b"]],
        ["2", ["c"]],
      ]);
      assert.deepEqual(got[0]?.nodes[0]?.metadata, { protocol: "mucp" });
      const listed = (await r.listServices()).filter((s) => s.name === name);
      assert.deepEqual(
        listed.map((s) => s.version),
        ["1", "2"],
      );
    } finally {
      await r.close();
    }
  });

  test("the lease TTL in etcd equals the register ttl (seconds, rounded up)", async () => {
    const r = createEtcdRegistry({ address: etcd.address });
    try {
      const name = unique("lease");
      await r.register(service(name, "n1"), { ttlMs: 9_500 });
      const kv = await rawGet(`/micro/registry/${name}/n1`);
      assert.ok(kv?.lease, "the key must carry a lease");
      const ttl = await raw("/v3/lease/timetolive", { ID: kv.lease, keys: true });
      assert.equal(Number(ttl.grantedTTL), 10);
      assert.ok(Number(ttl.TTL) > 7 && Number(ttl.TTL) <= 10, `remaining TTL ${String(ttl.TTL)}`);
      assert.deepEqual((ttl.keys as string[]).map(unb64), [`/micro/registry/${name}/n1`]);
    } finally {
      await r.close();
    }
  });

  test("re-registering an unchanged record writes nothing; a changed one is written", async () => {
    const r = createEtcdRegistry({ address: etcd.address });
    try {
      const name = unique("hash");
      const key = `/micro/registry/${name}/n1`;
      await r.register(service(name, "n1"), { ttlMs: 10_000 });
      const first = await rawGet(key);
      await r.register(service(name, "n1"), { ttlMs: 10_000 });
      const second = await rawGet(key);
      assert.equal(second?.modRevision, first?.modRevision, "unchanged record must not be written again");
      await r.register(service(name, "n1", { metadata: { changed: "yes" } }), { ttlMs: 10_000 });
      const third = await rawGet(key);
      assert.ok((third?.modRevision ?? 0) > (first?.modRevision ?? 0), "changed record must be written");
      assert.equal(JSON.parse(third?.value ?? "{}").metadata.changed, "yes");
    } finally {
      await r.close();
    }
  });

  test("deregister deletes the key and revokes its lease", async () => {
    const r = createEtcdRegistry({ address: etcd.address });
    try {
      const name = unique("dereg");
      await r.register(service(name, "n1"), { ttlMs: 10_000 });
      const kv = await rawGet(`/micro/registry/${name}/n1`);
      await r.deregister(service(name, "n1"));
      assert.equal(await rawGet(`/micro/registry/${name}/n1`), undefined);
      const ttl = await raw("/v3/lease/timetolive", { ID: kv?.lease });
      assert.equal(Number(ttl.TTL), -1, "the lease must be revoked");
    } finally {
      await r.close();
    }
  });

  test("a custom prefix is used for keys, reads and watches", async () => {
    const r = createEtcdRegistry({ address: etcd.address, prefix: "/custom/reg" });
    try {
      const name = unique("prefix");
      await r.register(service(name, "n1"));
      assert.ok(await rawGet(`/custom/reg/${name}/n1`));
      assert.equal(await rawGet(`/micro/registry/${name}/n1`), undefined);
      assert.equal((await r.getService(name))[0]?.nodes[0]?.id, "n1");
    } finally {
      await r.close();
    }
  });
});

describe("etcd TTL and keep-alive", () => {
  test("with keep-alive (default) a TTL node outlives its TTL, and expires once the registry closes", {
    timeout: 20_000,
  }, async () => {
    const name = unique("keepalive");
    const r = createEtcdRegistry({ address: etcd.address });
    const observer = createEtcdRegistry({ address: etcd.address });
    try {
      const w = observer.watch({ service: name });
      const events = collect(w);
      await r.register(service(name, "n1"), { ttlMs: 2_000 });
      await new Promise((res) => setTimeout(res, 4_500));
      assert.ok(await hasNode(observer, name, "n1"), "kept alive past 2× its TTL");
      await r.close();
      await waitFor("expiry after close", async () => !(await hasNode(observer, name, "n1")), 6_000);
      await waitFor("delete event", async () => events.find((e) => e.action === "delete"), 3_000);
      w.stop();
    } finally {
      await r.close();
      await observer.close();
    }
  });

  test("with keepAlive: false a TTL node expires unless registered again", { timeout: 20_000 }, async () => {
    const name = unique("nokeepalive");
    const r = createEtcdRegistry({ address: etcd.address, keepAlive: false });
    try {
      const started = Date.now();
      await r.register(service(name, "n1"), { ttlMs: 2_000 });
      // Re-registering within the TTL refreshes the lease (Go's KeepAliveOnce on re-register).
      await new Promise((res) => setTimeout(res, 1_500));
      await r.register(service(name, "n1"), { ttlMs: 2_000 });
      await new Promise((res) => setTimeout(res, 1_200));
      assert.ok(await hasNode(r, name, "n1"), "refreshed by the second register");
      await waitFor("expiry", async () => !(await hasNode(r, name, "n1")), 6_000);
      assert.ok(Date.now() - started >= 3_000, "must not expire before the refreshed TTL");
    } finally {
      await r.close();
    }
  });
});

describe("etcd faults", () => {
  test("(b) a lease revoked behind the registry's back is replaced and the node comes back", {
    timeout: 15_000,
  }, async () => {
    const r = createEtcdRegistry({ address: etcd.address });
    try {
      const name = unique("revoked");
      const key = `/micro/registry/${name}/n1`;
      await r.register(service(name, "n1"), { ttlMs: 3_000 });
      const before = await rawGet(key);
      assert.ok(before?.lease);
      await raw("/v3/lease/revoke", { ID: before.lease });
      assert.equal(await rawGet(key), undefined, "revoking the lease deletes the key");
      const back = await waitFor("key written again", () => rawGet(key), 5_000);
      assert.notEqual(back.lease, before.lease, "a new lease must be granted");
      assert.equal(back.value, before.value);
    } finally {
      await r.close();
    }
  });

  test("(b') a key deleted behind the registry's back is written again by the next register", async () => {
    const r = createEtcdRegistry({ address: etcd.address });
    try {
      const name = unique("deleted");
      const key = `/micro/registry/${name}/n1`;
      await r.register(service(name, "n1"), { ttlMs: 10_000 });
      await raw("/v3/kv/deleterange", { key: b64(key) });
      await r.register(service(name, "n1"), { ttlMs: 10_000 });
      assert.ok(await rawGet(key), "re-registration must notice the missing key");
    } finally {
      await r.close();
    }
  });

  test("(a) after an etcd restart the registration is present again", { timeout: 30_000 }, async () => {
    const r = createEtcdRegistry({ address: etcd.address });
    try {
      const name = unique("restart");
      await r.register(service(name, "n1"), { ttlMs: 3_000 });
      await etcd.restart({ downMs: 1_000 });
      await waitFor("registration after restart", () => hasNode(r, name, "n1"), 8_000);
      // And it stays: the keep-alive resumed on the restarted server.
      await new Promise((res) => setTimeout(res, 4_000));
      assert.ok(await hasNode(r, name, "n1"), "still registered after 1 TTL past the restart");
    } finally {
      await r.close();
    }
  });

  test("(a') after etcd lost all its data the registration is written again", {
    timeout: 30_000,
  }, async () => {
    const r = createEtcdRegistry({ address: etcd.address });
    try {
      const name = unique("wiped");
      await r.register(service(name, "n1"), { ttlMs: 3_000 });
      await etcd.restart({ wipe: true });
      await waitFor("registration after wipe", () => hasNode(r, name, "n1"), 8_000);
    } finally {
      await r.close();
    }
  });

  test("(c) a watch keeps delivering events after etcd restarts", { timeout: 30_000 }, async () => {
    const r = createEtcdRegistry({ address: etcd.address });
    try {
      const name = unique("watch-restart");
      const w = r.watch({ service: name });
      const events = collect(w);
      await r.register(service(name, "before"));
      await waitFor("create before restart", async () => events.find((e) => e.action === "create"), 3_000);
      await etcd.restart({ downMs: 500 });
      await waitFor("etcd back", () => r.listServices().then(() => true), 8_000);
      await r.register(service(name, "after"));
      const created = await waitFor(
        "create after restart",
        async () => events.find((e) => e.action === "create" && e.service.nodes[0]?.id === "after"),
        8_000,
      );
      assert.equal(created.service.name, name);
      await r.deregister(service(name, "after"));
      await waitFor(
        "delete after restart",
        async () => events.find((e) => e.action === "delete" && e.service.nodes[0]?.id === "after"),
        5_000,
      );
      w.stop();
    } finally {
      await r.close();
    }
  });

  test("(c') changes made while the watch was cut off are reported after it reconnects", {
    timeout: 30_000,
  }, async () => {
    // The registry reaches etcd through a proxy we can cut: a network partition of this client only.
    const proxy = await startProxy(etcd.port);
    const r = createEtcdRegistry({ address: `127.0.0.1:${proxy.port}` });
    try {
      const name = unique("watch-gap");
      await raw("/v3/kv/put", {
        key: b64(`/micro/registry/${name}/gone`),
        value: b64(goRecord(name, "gone")),
      });
      await raw("/v3/kv/put", {
        key: b64(`/micro/registry/${name}/changed`),
        value: b64(goRecord(name, "changed")),
      });
      const w = r.watch({ service: name });
      const events = collect(w);
      await r.register(service(name, "marker"));
      await waitFor("watch established", async () => events.find((e) => e.action === "create"), 3_000);
      events.length = 0;
      await proxy.cut();
      // Behind the watch's back:
      await raw("/v3/kv/deleterange", { key: b64(`/micro/registry/${name}/gone`) });
      await raw("/v3/kv/put", {
        key: b64(`/micro/registry/${name}/changed`),
        value: b64(goRecord(name, "changed", "v2")),
      });
      await raw("/v3/kv/put", { key: b64(`/micro/registry/${name}/new`), value: b64(goRecord(name, "new")) });
      await new Promise((res) => setTimeout(res, 300));
      assert.equal(events.length, 0, "no events while cut off");
      await proxy.restore();
      const summary = async () => {
        const s = events.map((e) => `${e.action}:${e.service.nodes[0]?.id}`).sort();
        return s.length >= 3 ? s : undefined;
      };
      assert.deepEqual(await waitFor("3 events after reconnecting", summary, 8_000), [
        "create:new",
        "delete:gone",
        "update:changed",
      ]);
      w.stop();
    } finally {
      await r.close();
      await proxy.close();
    }
  });

  test("(d) etcd down: getService rejects with 503 within timeoutMs", { timeout: 20_000 }, async () => {
    const r = createEtcdRegistry({ address: etcd.address, timeoutMs: 1_000 });
    try {
      await etcd.stop();
      let started = Date.now();
      await assert.rejects(r.getService("anything"), (e: unknown) => isMicroError(e, 503));
      assert.ok(Date.now() - started < 1_500, "refused connections fail at once");
      await assert.rejects(r.register(service("x", "y")), (e: unknown) => isMicroError(e, 503));
      await etcd.start();
      // A frozen server accepts connections but never answers: the registry's own timeout is a 503,
      await etcd.pause();
      started = Date.now();
      const err = await r.getService("anything").catch((e: unknown) => e);
      const elapsed = Date.now() - started;
      assert.ok(isMicroError(err, 503), `expected 503, got ${String(err)} after ${elapsed}ms`);
      assert.ok(elapsed >= 900 && elapsed < 2_000, `rejected after ${elapsed}ms`);
      // ...while the caller's own shorter deadline is a 408.
      const late = await r.getService("anything", { timeoutMs: 200 }).catch((e: unknown) => e);
      assert.ok(isMicroError(late, 408), `expected 408, got ${String(late)}`);
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 100);
      const aborted = await r.getService("anything", { signal: controller.signal }).catch((e: unknown) => e);
      assert.ok(isMicroError(aborted, 499), `expected 499, got ${String(aborted)}`);
    } finally {
      etcd.resume();
      await etcd.start();
      await r.close();
    }
  });

  test("a comma-separated address falls over to the next endpoint", async () => {
    const dead = await startEtcd();
    const deadAddress = dead.address;
    await dead[Symbol.asyncDispose]();
    const r = createEtcdRegistry({ address: `etcd://${deadAddress},http://${etcd.address}` });
    try {
      const name = unique("failover");
      await r.register(service(name, "n1"));
      assert.equal((await r.getService(name))[0]?.nodes[0]?.id, "n1");
    } finally {
      await r.close();
    }
  });

  test("a closed registry rejects with 503", async () => {
    const r = createEtcdRegistry({ address: etcd.address });
    await r.close();
    await assert.rejects(r.getService("x"), (e: unknown) => e instanceof MicroError && e.code === 503);
  });
});
