/** Registries finding each other: in one process, and across real separate processes. */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import type { RegistryEvent, ServiceRecord, Watcher } from "@microts/core";
import { createMdnsRegistry } from "./mdns-registry.js";

const unique = (p: string) => `${p}-${randomBytes(5).toString("hex")}`;
const CHILD = fileURLToPath(new URL("./testdata/child-registry.ts", import.meta.url));
const children = new Set<ChildProcess>();
after(() => {
  for (const c of children) c.kill("SIGKILL");
});

/** Starts the child fixture; resolves with it and its first stdout line, within `ms`. */
function startChild(
  mode: "serve" | "find",
  name: string,
  ms = 15_000,
): Promise<{ child: ChildProcess; line: string }> {
  const child = spawn(
    process.execPath,
    ["--conditions=@microts/source", "--import", "tsx", CHILD, mode, name],
    {
      cwd: fileURLToPath(new URL("..", import.meta.url)),
      stdio: ["pipe", "pipe", "inherit"],
    },
  );
  children.add(child);
  child.on("exit", () => children.delete(child));
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`child ${mode}: no output within ${ms} ms`)), ms);
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf("\n");
      if (nl < 0) return;
      clearTimeout(timer);
      resolve({ child, line: out.slice(0, nl) });
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`child ${mode} exited with ${code} before printing`));
    });
  });
}

/** Collects a watcher's events; `until` waits (bounded) for one matching. */
function collect(watcher: Watcher) {
  const events: RegistryEvent[] = [];
  void (async () => {
    for await (const e of watcher) events.push(e);
  })();
  return {
    events,
    async until(match: (e: RegistryEvent) => boolean, ms: number, what: string): Promise<RegistryEvent> {
      const deadline = Date.now() + ms;
      for (;;) {
        const found = events.find(match);
        if (found) return found;
        if (Date.now() > deadline) assert.fail(`${what}: not seen within ${ms} ms`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
}

const sample = (name: string): ServiceRecord => ({
  name,
  version: "2.0.0",
  endpoints: [
    {
      name: "Greeter.Hello",
      request: { name: "Request", type: "Request", values: [{ name: "name", type: "string" }] },
      response: { name: "Response", type: "Response", values: [{ name: "msg", type: "string" }] },
      metadata: { stream: "false" },
    },
  ],
  nodes: [
    { id: `${name}-a`, address: "127.0.0.1:10001", metadata: { protocol: "mucp", transport: "http" } },
    { id: `${name}-b`, address: "[::1]:10002", metadata: { protocol: "mucp", node: "b" } },
  ],
});

describe("mdns registries discovering each other", () => {
  test("two registries in one process: every field except service metadata, and events", {
    timeout: 15_000,
  }, async () => {
    await using a = createMdnsRegistry();
    await using b = createMdnsRegistry();
    const name = unique("proc-pair");
    const log = collect(b.watch({ service: name }));
    await new Promise((r) => setTimeout(r, 150)); // b's socket joins the group
    const record = sample(name);
    await a.register({ ...record, metadata: { not: "carried" } });
    const got = await b.getService(name);
    assert.equal(got.length, 1);
    const s = got[0] as ServiceRecord;
    assert.deepEqual(
      {
        ...s,
        endpoints: JSON.parse(JSON.stringify(s.endpoints)),
        nodes: [...s.nodes].sort((x, y) => x.id.localeCompare(y.id)),
      },
      record,
    );
    assert.equal(s.metadata, undefined, "service metadata is not transmitted (as in Go)");
    assert.ok((await b.listServices()).some((x) => x.name === name));
    await log.until(
      (e) => e.action === "create" && e.service.nodes[0]?.id === `${name}-b`,
      3_000,
      "create b",
    );
    await a.deregister({ ...record, nodes: [record.nodes[0] as ServiceRecord["nodes"][number]] });
    await log.until(
      (e) => e.action === "delete" && e.service.nodes[0]?.id === `${name}-a`,
      3_000,
      "delete a",
    );
    assert.deepEqual(
      (await b.getService(name)).flatMap((x) => x.nodes.map((n) => n.id)),
      [`${name}-b`],
    );
    // Closing says goodbye for what is left.
    await a.close();
    await log.until(
      (e) => e.action === "delete" && e.service.nodes[0]?.id === `${name}-b`,
      3_000,
      "delete b",
    );
    const creates = log.events.filter((e) => e.action === "create").length;
    assert.equal(creates, 2, "three announcements per node are reported once");
  });

  test("a registry in a child process is found, watched, and its goodbye seen", {
    timeout: 30_000,
  }, async () => {
    await using r = createMdnsRegistry();
    const name = unique("proc-child");
    const log = collect(r.watch({ service: name }));
    await new Promise((res) => setTimeout(res, 150));
    const { child, line } = await startChild("serve", name);
    assert.equal(line, "ready");
    const got = await r.getService(name);
    assert.deepEqual(got[0]?.nodes, [
      { id: `${name}-child`, address: "127.0.0.1:7001", metadata: { pid: String(child.pid) } },
    ]);
    assert.equal(got[0]?.version, "child-1");
    await log.until((e) => e.action === "create", 5_000, "create from the child's announcement");
    child.stdin?.end(); // the child deregisters by closing its registry
    await log.until(
      (e) => e.action === "delete" && e.service.nodes[0]?.id === `${name}-child`,
      8_000,
      "goodbye",
    );
    await assert.rejects(r.getService(name), /not found/);
  });

  test("a child process finds a registry of this process", { timeout: 30_000 }, async () => {
    await using r = createMdnsRegistry();
    const name = unique("proc-parent");
    await r.register(sample(name));
    const { line } = await startChild("find", name);
    assert.notEqual(line, "notfound");
    const found = JSON.parse(line) as ServiceRecord[];
    assert.deepEqual(found.flatMap((s) => s.nodes.map((n) => n.id)).sort(), [`${name}-a`, `${name}-b`]);
    assert.deepEqual(
      found[0]?.endpoints.map((e) => e.name),
      ["Greeter.Hello"],
    );
  });
});
