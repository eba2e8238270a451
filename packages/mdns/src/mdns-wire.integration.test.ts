/**
 * Byte-level behaviour on the wire, against raw UDP sockets standing in for Go peers. Everything
 * runs on the loopback interface (the registry default `interface: "127.0.0.1"`).
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, describe, test } from "node:test";
import { deflateSync } from "node:zlib";
import { isMicroError, type Registry, type RegistryEvent, type ServiceRecord } from "@microts/core";
import fc from "fast-check";
import { tryDecodeMessage } from "./dns/dns-decode.js";
import type { DnsMessage } from "./dns/dns-types.js";
import { createMdnsRegistry } from "./mdns-registry.js";
import { Bytes, type Packet, RawPeer } from "./testdata/raw-peer.js";
import { decodeTxt } from "./txt.js";

const HOST = "test-host";
const unique = (p: string) => `${p}-${randomBytes(5).toString("hex")}`;
const open: Array<{ close(): Promise<void> }> = [];
after(async () => {
  await Promise.all(open.map((c) => c.close()));
});
function registry(): Registry {
  const r = createMdnsRegistry({ hostname: HOST });
  open.push(r);
  return r;
}
async function peer(kind: "multicast" | "ephemeral"): Promise<RawPeer> {
  const p = kind === "multicast" ? await RawPeer.multicast() : await RawPeer.ephemeral();
  open.push(p);
  return p;
}
const service = (name: string, port = 9090, id = "n1"): ServiceRecord => ({
  name,
  version: "1.2.3",
  endpoints: [{ name: "Greeter.Hello", metadata: {} }],
  nodes: [{ id: `${name}-${id}`, address: `127.0.0.1:${port}`, metadata: { protocol: "mucp" } }],
});
const decode = (p: Packet): DnsMessage => {
  const m = tryDecodeMessage(p.bytes);
  assert.ok(m, "packet must be a DNS message");
  return m;
};

/** A PTR query as Go's client sends it (random id, no flags, class IN), built by hand. */
function goQuery(name: string, id = 0x1234, unicastBit = false): Buffer {
  const b = new Bytes().u16(id).u16(0).u16(1).u16(0).u16(0).u16(0);
  return b
    .name(name.split(".").filter(Boolean))
    .u16(12)
    .u16(unicastBit ? 0x8001 : 1)
    .bytes();
}

/** Go's mdnsTxt payload (zlib of the same JSON shape) for a service, as 255-char strings. */
function txtFor(name: string): string[] {
  const json = `{"Metadata":{"protocol":"mucp"},"Service":"${name}","Version":"v9","Endpoints":null}`;
  const hex = deflateSync(json).toString("hex");
  return hex.match(/.{1,255}/g) ?? [];
}

/**
 * A response exactly as Go's responder (miekg/dns, Compress: true) lays it out: id 0, QR|AA, the
 * question echoed (or not), then PTR, SRV, A, TXT in the Answer section, names compressed.
 */
function goResponse(
  name: string,
  nodeId: string,
  txt: string[],
  question: "echo" | "none" | "other",
): Buffer {
  const b = new Bytes()
    .u16(0)
    .u16(0x8400)
    .u16(question === "none" ? 0 : 1)
    .u16(4)
    .u16(0)
    .u16(0);
  const qAt = b.offset;
  if (question !== "none")
    b.name(question === "echo" ? [name, "micro"] : ["someone-else", "micro"])
      .u16(12)
      .u16(1);
  let svcAt = qAt;
  if (question === "echo") b.u16(0xc000 | qAt);
  else {
    svcAt = b.offset;
    b.name([name, "micro"]);
  }
  b.u16(12).u16(1).u32(120);
  let end = b.length();
  const instAt = b.offset;
  b.name([nodeId], svcAt);
  end();
  b.u16(0xc000 | instAt)
    .u16(33)
    .u16(1)
    .u32(120);
  end = b.length();
  b.u16(10).u16(1).u16(8080);
  const hostAt = b.offset;
  b.name(["gohost"]);
  end();
  b.u16(0xc000 | hostAt)
    .u16(1)
    .u16(1)
    .u32(120);
  end = b.length();
  b.u8(192, 0, 2, 5);
  end();
  b.u16(0xc000 | instAt)
    .u16(16)
    .u16(1)
    .u32(120);
  end = b.length();
  for (const s of txt) b.u8(s.length, ...Buffer.from(s, "latin1"));
  end();
  return b.bytes();
}

/** A fake Go responder: answers PTR queries for `name` with `reply` to the querier's address. */
async function fakeGoResponder(name: string, reply: Buffer[]): Promise<RawPeer> {
  const p = await peer("multicast");
  p.socket.on("message", (bytes, from) => {
    const m = tryDecodeMessage(bytes);
    if (!m || (m.flags & 0x8000) !== 0 || m.questions[0]?.name !== `${name}.micro.`) return;
    for (const r of reply) p.socket.send(r, from.port, from.address);
  });
  return p;
}

describe("mdns wire format", () => {
  test("answers a PTR query like Go: question echoed, PTR+SRV+A+TXT in one message", {
    timeout: 10_000,
  }, async () => {
    const r = registry();
    const name = unique("wire-answer");
    const big: ServiceRecord = {
      ...service(name),
      endpoints: Array.from({ length: 30 }, (_, i) => ({
        name: `Greeter.M${i}`,
        metadata: { i: `${i * 104729}` },
      })),
    };
    await r.register(big);
    const q = await peer("ephemeral");
    const query = goQuery(`${name}.micro.`);
    await q.send(query);
    const got = decode(await q.next(() => true, 3_000));
    const from = q.packets[0]?.from;
    assert.equal(from?.port, 5353, "answers come from the mDNS port");
    assert.equal(got.id, 0, "multicast-style answer: id 0");
    assert.equal(got.flags, 0x8400, "QR and AA set");
    assert.deepEqual(got.questions, [{ name: `${name}.micro.`, type: 12, class: 1 }], "question echoed");
    assert.deepEqual(
      got.answers.map((a) => a.type),
      ["PTR", "SRV", "A", "TXT"],
    );
    assert.equal(got.additionals.length + got.authorities.length, 0);
    const [ptr, srv, a, txt] = got.answers;
    assert.ok(ptr?.type === "PTR" && srv?.type === "SRV" && a?.type === "A" && txt?.type === "TXT");
    assert.equal(ptr.name, `${name}.micro.`);
    assert.equal(ptr.target, `${name}-n1.${name}.micro.`);
    assert.deepEqual(
      { name: srv.name, priority: srv.priority, weight: srv.weight, port: srv.port, target: srv.target },
      { name: ptr.target, priority: 10, weight: 1, port: 9090, target: `${HOST}.` },
    );
    assert.equal(a.name, srv.target, "A record named as the SRV target");
    assert.equal(a.address, "127.0.0.1");
    assert.equal(txt.name, ptr.target);
    assert.ok(txt.strings.length > 1, "payload spread over several strings of ONE TXT record");
    for (const s of txt.strings.slice(0, -1)) assert.equal(s.length, 255);
    const payload = decodeTxt(txt.strings);
    assert.equal(payload?.service, name);
    assert.equal(payload?.version, "1.2.3");
    assert.equal(payload?.endpoints.length, 30);
    assert.deepEqual(payload?.metadata, { protocol: "mucp" });
    for (const rr of got.answers) assert.equal(rr.ttl, 120);

    // QU bit: the id of the query is echoed (RFC 6762 §18.1), still to the querier.
    await q.send(goQuery(`${name}.micro.`, 0x4321, true));
    const qu = decode(await q.next((p) => decode(p).id === 0x4321, 3_000));
    assert.equal(qu.answers.length, 4);
  });

  test("lists services under _services.micro. as Go's wildcard entry", { timeout: 10_000 }, async () => {
    const r = registry();
    const name = unique("wire-list");
    await r.register(service(name));
    const q = await peer("ephemeral");
    await q.send(goQuery("_services.micro."));
    const mine = (p: Packet) =>
      decode(p).answers.some((a) => a.type === "PTR" && a.target === `${name}._services.micro.`);
    const got = decode(await q.next(mine, 3_000));
    assert.deepEqual(got.questions, [{ name: "_services.micro.", type: 12, class: 1 }]);
    const srv = got.answers.find((a) => a.type === "SRV");
    const a = got.answers.find((x) => x.type === "A");
    assert.equal(srv?.type === "SRV" && srv.port, 9999);
    assert.equal(a?.type === "A" && a.address, "0.0.0.0");
    assert.ok(
      got.answers.some((x) => x.type === "TXT"),
      "a TXT record completes Go's entry",
    );
  });

  test("announces a new node 3 times (≈0, 1 s, 3 s) and says goodbye with TTL 0", {
    timeout: 15_000,
  }, async () => {
    const listener = await peer("multicast");
    const r = registry();
    const name = unique("wire-announce");
    const start = Date.now();
    const isMine = (p: Packet) => {
      const m = tryDecodeMessage(p.bytes);
      return !!m && (m.flags & 0x8000) !== 0 && m.answers.some((a) => a.name === `${name}-n1.${name}.micro.`);
    };
    await r.register(service(name));
    const times: number[] = [];
    let seen = 0;
    while (times.length < 3) {
      const p = await listener.next(isMine, 4_500, seen);
      seen = listener.packets.indexOf(p) + 1;
      times.push(Date.now() - start);
      const m = decode(p);
      assert.deepEqual(m.questions, [], "unsolicited: no question");
      assert.ok(m.answers.every((a) => a.ttl === 120));
    }
    assert.ok((times[0] as number) < 500, `first at ${times[0]} ms`);
    assert.ok((times[1] as number) >= 800 && (times[1] as number) < 2_000, `second at ${times[1]} ms`);
    assert.ok((times[2] as number) >= 2_800 && (times[2] as number) < 4_500, `third at ${times[2]} ms`);
    await r.deregister(service(name));
    const bye = decode(await listener.next(isMine, 3_000, seen));
    assert.ok(bye.answers.length >= 3);
    assert.ok(
      bye.answers.every((a) => a.ttl === 0),
      "goodbye records have TTL 0",
    );
    assert.ok(bye.answers.some((a) => a.type === "SRV") && bye.answers.some((a) => a.type === "TXT"));
  });

  test("decodes a hand-built Go response (Go's own zlib bytes) into the right service", {
    timeout: 10_000,
  }, async () => {
    const GO_TXT = [
      "789c8c90b16a33311084df656af13f80fa9fa44993409ae042b95b2e22ba5d6577efc01c7af720fbecd8a44925f898d1c7ce8627f234264f881bde553e4911f1e15e1150555c0629889897a113a5299bebb193910d0146ba9e3a7bc235b15551bf7cd3025e48d73c10222625725204bc925a164644494ee608f8cf6395cc6e8",
      "86f1b94be96cee3064e732f3fef24c08ff51eaca92c74eeede1d3734d9a6be6e926c84b29edd0fa4556858dee3c3bba115dc96fd34c6669fa936cfe19bb854bffe1bcc9bf472a45d00eed3b0000fffff2bd89d6",
    ];
    const nodeId = `greeter-${randomBytes(4).toString("hex")}`;
    await fakeGoResponder("greeter", [goResponse("greeter", nodeId, GO_TXT, "echo")]);
    const got = await registry().getService("greeter");
    const version = got.find((s) => s.nodes.some((n) => n.id === nodeId));
    assert.ok(version, `node ${nodeId} found in ${JSON.stringify(got)}`);
    assert.equal(version.version, "latest");
    assert.deepEqual(
      version.endpoints.map((e) => e.name),
      ["Greeter.Hello"],
    );
    assert.deepEqual(version.endpoints[0]?.request?.values, [{ name: "name", type: "string" }]);
    assert.deepEqual(
      version.nodes.find((n) => n.id === nodeId),
      {
        id: nodeId,
        address: "192.0.2.5:8080",
        metadata: { broker: "http", protocol: "mucp", registry: "mdns", server: "mucp", transport: "http" },
      },
    );
  });

  test("ignores responses that do not echo the question (Go's client rule)", {
    timeout: 10_000,
  }, async () => {
    const name = unique("wire-echo");
    const txt = txtFor(name);
    await fakeGoResponder(name, [
      goResponse(name, `${name}-none`, txt, "none"),
      goResponse(name, `${name}-other`, txt, "other"),
    ]);
    const r = registry();
    await assert.rejects(r.getService(name), (e) => isMicroError(e) && e.code === 404);
    // The same records with the question echoed are accepted.
    await fakeGoResponder(name, [goResponse(name, `${name}-echo`, txt, "echo")]);
    const got = await r.getService(name);
    assert.deepEqual(
      got.flatMap((s) => s.nodes.map((n) => n.id)),
      [`${name}-echo`],
    );
    assert.equal(got[0]?.version, "v9");
  });

  test("goodbye from a Go-style peer becomes a delete watch event", { timeout: 10_000 }, async () => {
    const name = unique("wire-goodbye");
    const r = registry();
    const watcher = r.watch({ service: name });
    const events: RegistryEvent[] = [];
    const loop = (async () => {
      for await (const e of watcher) events.push(e);
    })();
    const go = await peer("ephemeral");
    await new Promise((res) => setTimeout(res, 200)); // let the watch bind 5353
    const hello = goResponse(name, `${name}-g1`, txtFor(name), "none");
    await go.send(hello);
    await go.send(hello); // repeated announcements are reported once
    const bye = Buffer.from(hello);
    // Zero every TTL: they sit 4 bytes after each record's type and class, found by re-encoding.
    for (const at of ttlOffsets(bye)) bye.writeUInt32BE(0, at);
    await go.send(bye);
    const deadline = Date.now() + 5_000;
    while (events.length < 2 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
    watcher.stop();
    await loop;
    assert.deepEqual(
      events.map((e) => [
        e.action,
        e.service.name,
        e.service.version,
        e.service.nodes[0]?.id,
        e.service.nodes[0]?.address,
      ]),
      [
        ["create", name, "v9", `${name}-g1`, "192.0.2.5:8080"],
        ["delete", name, "v9", `${name}-g1`, "192.0.2.5:8080"],
      ],
    );
  });

  test("survives garbage on the mDNS port and keeps answering", { timeout: 20_000 }, async () => {
    const r = registry();
    const name = unique("wire-fuzz");
    await r.register(service(name));
    const noise = await peer("ephemeral");
    const samples = fc.sample(fc.uint8Array({ minLength: 0, maxLength: 700 }), { numRuns: 300, seed: 42 });
    // Valid headers with random bodies get past the first checks and exercise the decoder deeper.
    const deeper = samples.map((s, i) =>
      i % 2 ? Buffer.concat([goQuery(`${name}.micro.`).subarray(0, 12), s]) : s,
    );
    for (const s of deeper) await noise.send(s);
    // A flood may overrun the socket's receive buffer (the kernel drops datagrams, the query too):
    // the process must survive and answer once the noise is gone.
    let got: ServiceRecord[] = [];
    const deadline = Date.now() + 5_000;
    while (got.length === 0 && Date.now() < deadline) got = await r.getService(name).catch(() => []);
    assert.deepEqual(
      got[0]?.nodes.map((n) => n.id),
      [`${name}-n1`],
    );
  });

  test("node addresses must be IP literals (400), bad options are 400", async () => {
    const r = registry();
    const bad = service(unique("wire-bad"));
    for (const address of ["localhost:8080", "127.0.0.1", "127.0.0.1:0", "[::1]:99999", "example.com:80"]) {
      await assert.rejects(
        r.register({ ...bad, nodes: [{ id: "x", address, metadata: {} }] }),
        (e) => isMicroError(e) && e.code === 400,
        address,
      );
    }
    await assert.rejects(
      r.register({ ...bad, nodes: [{ id: "x".repeat(64), address: "127.0.0.1:1", metadata: {} }] }),
      (e) => isMicroError(e) && e.code === 400 && /63/.test(e.detail),
    );
    for (const o of [
      { interface: "lo" },
      { multicastAddress: "10.0.0.1" },
      { port: 0 },
      { address: "x:y:z" },
    ]) {
      assert.throws(
        () => createMdnsRegistry(o),
        (e) => isMicroError(e) && e.code === 400,
        JSON.stringify(o),
      );
    }
  });
});

/** Offsets of the TTL field of every record in a message (walks the bytes like a decoder). */
function ttlOffsets(bytes: Buffer): number[] {
  const skipName = (at: number): number => {
    for (;;) {
      const len = bytes[at] as number;
      if (len === 0) return at + 1;
      if ((len & 0xc0) === 0xc0) return at + 2;
      at += len + 1;
    }
  };
  let at = 12;
  for (let i = bytes.readUInt16BE(4); i > 0; i--) at = skipName(at) + 4;
  const out: number[] = [];
  const records = bytes.readUInt16BE(6) + bytes.readUInt16BE(8) + bytes.readUInt16BE(10);
  for (let i = 0; i < records; i++) {
    at = skipName(at);
    out.push(at + 4);
    at += 10 + bytes.readUInt16BE(at + 8);
  }
  return out;
}
