import assert from "node:assert/strict";
import { once } from "node:events";
import { connect, createServer, type Socket as NetSocket } from "node:net";
import { after, before, describe, test } from "node:test";
import type { Listener, Message, Socket, Transport } from "@microts/core";
import { MicroError } from "@microts/core";
import { parseHostPort } from "@microts/core/internal";
import { exposeGc } from "@microts/testing";
import { createHttpTransport } from "./http-transport.js";
import { exampleA } from "./testdata/go-examples.js";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Opens a raw TCP connection and collects everything it receives. */
async function raw(address: string): Promise<{ sock: NetSocket; text(): string; ended: Promise<void> }> {
  const { host, port } = parseHostPort(address, "test");
  const sock = connect({ host, port });
  await once(sock, "connect");
  const chunks: Buffer[] = [];
  sock.on("data", (c: Buffer) => chunks.push(c));
  const ended = new Promise<void>((resolve) => sock.on("close", () => resolve()));
  sock.on("error", () => {});
  return { sock, text: () => Buffer.concat(chunks).toString("utf8"), ended };
}

/** True when a socket's writes wait in its user-space queue (the peer is not reading). */
function stalledQueues(s: Socket): boolean {
  return ((s as unknown as { sock: NetSocket }).sock?.writableLength ?? 0) > 0;
}

/** Bytes in array buffers once garbage is collected and the freed buffers are released. */
async function arrayBuffersAfterGc(gc: () => void): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 20));
  }
  return process.memoryUsage().arrayBuffers;
}

/** A plain TCP server that writes `responses` to whoever connects, and a socket dialled to it. */
async function dialResponder(transport: Transport, responses: string) {
  const srv = createServer((s) => {
    s.on("error", () => {});
    s.write(responses);
  });
  srv.listen(0, "127.0.0.1");
  await once(srv, "listening");
  const sock = await transport.dial(`127.0.0.1:${(srv.address() as { port: number }).port}`);
  return { sock, srv };
}

async function waitFor(cond: () => boolean, ms = 2000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("http transport: wire format", { timeout: 20_000 }, () => {
  let transport: Transport;
  let listener: Listener;
  let accepted: Socket[];

  before(async () => {
    transport = createHttpTransport();
    listener = await transport.listen("127.0.0.1:0");
    accepted = [];
    void (async () => {
      for await (const s of listener) accepted.push(s);
    })();
  });
  after(async () => {
    for (const s of accepted) await s.close();
    await transport.close();
  });

  test("listening on port 0 reports the real address", () => {
    assert.match(listener.address, /^127\.0\.0\.1:\d+$/);
    assert.notEqual(listener.address, "127.0.0.1:0");
  });

  test("Go's request bytes (§3.7 example A) become one message", async () => {
    const n = accepted.length;
    const c = await raw(listener.address);
    c.sock.write(exampleA);
    await waitFor(() => accepted.length > n);
    const server = accepted[n] as Socket;
    const msg = await server.recv({ timeoutMs: 2000 });
    assert.deepEqual(msg.header, {
      "User-Agent": "Go-http-client/1.1",
      Accept: "application/json",
      "Content-Type": "application/json",
      "Micro-Endpoint": "Greeter.Hello",
      "Micro-Id": "0",
      "Micro-Method": "Greeter.Hello",
      "Micro-Service": "greeter",
      Timeout: "5000000000",
    });
    assert.ok(msg.body instanceof Uint8Array);
    assert.equal(dec.decode(msg.body), '{"name":"Alice"}\n');

    // The reply is an HTTP/1.1 200 response Go's http.ReadResponse accepts.
    await server.send({
      header: { "Content-Type": "application/json", "micro-id": "0" },
      body: enc.encode('{"message":"Hello Alice"}\n'),
    });
    await waitFor(() => c.text().includes('Alice"}\n'));
    assert.equal(
      c.text(),
      "HTTP/1.1 200 OK\r\n" +
        "Content-Length: 26\r\n" +
        "Content-Type: application/json\r\n" +
        "Micro-Id: 0\r\n" +
        "\r\n" +
        '{"message":"Hello Alice"}\n',
    );
    // Keep-alive: a second request on the same connection is read too.
    c.sock.write(exampleA.replace("Alice", "Bobby"));
    assert.equal(dec.decode((await server.recv({ timeoutMs: 2000 })).body), '{"name":"Bobby"}\n');
    c.sock.destroy();
    await assert.rejects(server.recv({ timeoutMs: 2000 }), { code: 503 });
  });

  test("a dialled client writes POST / with Host, Content-Length and canonical headers", async () => {
    const received: Buffer[] = [];
    const srv = createServer((s) => s.on("data", (d: Buffer) => received.push(d)));
    srv.listen(0, "127.0.0.1");
    await once(srv, "listening");
    const addr = `127.0.0.1:${(srv.address() as { port: number }).port}`;
    const sock = await transport.dial(addr);
    await sock.send({
      header: {
        "content-type": "application/json",
        "Micro-ID": "3",
        "X-Note": "héllo ☃",
        "X-Evil": "a\r\nInjected: yes",
        "bad name": "dropped",
        "Content-Length": "999",
      },
      body: enc.encode('{"a":1}'),
    });
    await waitFor(() => Buffer.concat(received).includes('{"a":1}'));
    assert.equal(
      Buffer.concat(received).toString("utf8"),
      "POST / HTTP/1.1\r\n" +
        `Host: ${addr}\r\n` +
        "Content-Length: 7\r\n" +
        "Content-Type: application/json\r\n" +
        "Micro-Id: 3\r\n" +
        "X-Note: héllo ☃\r\n" +
        "X-Evil: a  Injected: yes\r\n" +
        "\r\n" +
        '{"a":1}',
    );
    await sock.close();
    srv.close();
  });

  test("the client reads unpaired responses: several per packet, chunked, non-200 as 500", async () => {
    const { sock, srv } = await dialResponder(
      transport,
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nMicro-Stream: 1\r\n\r\nA" +
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nB" +
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n" +
        "HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\nnope" +
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nMicro-Error: EOS\r\n\r\n",
    );
    const a = await sock.recv({ timeoutMs: 2000 });
    assert.equal(dec.decode(a.body), "A");
    assert.equal(a.header["Micro-Stream"], "1");
    assert.equal(dec.decode((await sock.recv()).body), "B");
    assert.equal(dec.decode((await sock.recv()).body), "abc");
    await assert.rejects(sock.recv(), (e: unknown) => {
      assert.ok(e instanceof MicroError);
      assert.equal(e.code, 500);
      assert.equal(e.detail, "404 Not Found: nope");
      return true;
    });
    assert.deepEqual((await sock.recv()).header, { "Micro-Error": "EOS" });
    await sock.close();
    srv.close();
  });

  test("tryRecv takes responses of one packet at once, and throws the non-200 one as 500", async () => {
    const { sock, srv } = await dialResponder(
      transport,
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nA" +
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nB" +
        "HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\nnope" +
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nC",
    );
    const tryRecv = sock.tryRecv?.bind(sock);
    assert.ok(tryRecv, "HTTP sockets have tryRecv");
    assert.equal(tryRecv(), undefined);
    assert.equal(dec.decode((await sock.recv({ timeoutMs: 2000 })).body), "A");
    assert.equal(dec.decode((tryRecv() as Message).body), "B");
    assert.throws(() => tryRecv(), { code: 500, detail: "404 Not Found: nope" });
    assert.equal(dec.decode((tryRecv() as Message).body), "C");
    assert.equal(tryRecv(), undefined);
    await sock.close();
    srv.close();
  });

  test("client and server exchange messages both ways; header values round-trip as UTF-8", async () => {
    const n = accepted.length;
    const client = await transport.dial(listener.address);
    await client.send({ header: { "X-Greeting": "grüß dich 👋" }, body: new Uint8Array([0, 1, 2, 255]) });
    await waitFor(() => accepted.length > n);
    const server = accepted[n] as Socket;
    const m = await server.recv({ timeoutMs: 2000 });
    assert.equal(m.header["X-Greeting"], "grüß dich 👋");
    assert.deepEqual(new Uint8Array(m.body), new Uint8Array([0, 1, 2, 255]));
    assert.equal(server.remote, client.local);
    assert.equal(server.local, client.remote);
    // A stream: many responses to one request.
    for (let i = 0; i < 5; i++)
      await server.send({ header: { "Micro-Seq": String(i) }, body: enc.encode(`m${i}`) });
    for (let i = 0; i < 5; i++)
      assert.equal(dec.decode((await client.recv({ timeoutMs: 2000 })).body), `m${i}`);
    await client.close();
    await assert.rejects(client.recv(), { code: 503 });
    await assert.rejects(client.send({ header: {}, body: new Uint8Array() }), { code: 503 });
    assert.equal(await server.recv().catch((e: MicroError) => e.code), 503);
  });

  test("a recv that timed out does not swallow the next message", async () => {
    const n = accepted.length;
    const client = await transport.dial(listener.address);
    await client.send({ header: {}, body: new Uint8Array() });
    await waitFor(() => accepted.length > n);
    const server = accepted[n] as Socket;
    await server.recv({ timeoutMs: 2000 });
    await assert.rejects(client.recv({ timeoutMs: 30 }), { code: 408 });
    const ac = new AbortController();
    const p = client.recv({ signal: ac.signal });
    ac.abort();
    await assert.rejects(p, { code: 499 });
    await server.send({ header: { N: "1" }, body: new Uint8Array() });
    assert.equal((await client.recv({ timeoutMs: 2000 })).header.N, "1");
    await client.close();
  });

  test("iterating a socket yields messages until the peer closes", async () => {
    const n = accepted.length;
    const client = await transport.dial(listener.address);
    for (let i = 0; i < 3; i++) await client.send({ header: { I: String(i) }, body: enc.encode("x") });
    await client.close();
    await waitFor(() => accepted.length > n);
    const got: string[] = [];
    for await (const m of accepted[n] as Socket) got.push(m.header.I as string);
    assert.deepEqual(got, ["0", "1", "2"]);
  });

  test("sends issued in the same tick leave in one write", async () => {
    const chunks: Buffer[] = [];
    const srv = createServer((s) => s.on("data", (d: Buffer) => chunks.push(d)));
    srv.listen(0, "127.0.0.1");
    await once(srv, "listening");
    const sock = await transport.dial(`127.0.0.1:${(srv.address() as { port: number }).port}`);
    const sends: Promise<void>[] = [];
    for (let i = 0; i < 20; i++)
      sends.push(sock.send({ header: { I: String(i) }, body: enc.encode("hello") }));
    await Promise.all(sends);
    await waitFor(() => Buffer.concat(chunks).toString().split("POST /").length === 21);
    assert.equal(chunks.length, 1, `expected one TCP segment, got ${chunks.length}`);
    await sock.close();
    srv.close();
  });

  test("a peer that stops reading holds only its own queued bytes, not the shared write buffers", async () => {
    // Two connections to a raw server; the first one's peer stops reading.
    const stalledBytes: Buffer[] = [];
    let busyBytes = 0; // counted, not kept: kept bytes would be array buffers too
    const peers: NetSocket[] = [];
    const srv = createServer((s) => {
      const first = peers.push(s) === 1;
      s.on("data", (d: Buffer) => {
        if (first) stalledBytes.push(d);
        else busyBytes += d.length;
      });
    });
    srv.listen(0, "127.0.0.1");
    await once(srv, "listening");
    const address = `127.0.0.1:${(srv.address() as { port: number }).port}`;
    const stalled = await transport.dial(address);
    await waitFor(() => peers.length === 1);
    const busy = await transport.dial(address);
    await waitFor(() => peers.length === 2);
    (peers[0] as NetSocket).pause();
    // Fill the kernel's buffers until the stalled connection queues in user space.
    const filler = new Uint8Array(1024 * 1024);
    for (let i = 0; i < 64 && !stalledQueues(stalled); i++) void stalled.send({ header: {}, body: filler });
    assert.ok(stalledQueues(stalled), "the stalled connection never queued");
    const gc = exposeGc();
    const before = await arrayBuffersAfterGc(gc);
    // Each tick: a small message behind the stalled peer, 32 KiB of shared buffer for the other.
    const other = new Uint8Array(8 * 1024);
    const small = enc.encode("x".repeat(100));
    for (let t = 0; t < 200; t++) {
      void stalled.send({ header: { T: String(t) }, body: small });
      for (let k = 0; k < 4; k++) await busy.send({ header: {}, body: other });
      await new Promise((r) => setImmediate(r));
    }
    await waitFor(() => busyBytes >= 800 * other.length);
    const grown = (await arrayBuffersAfterGc(gc)) - before;
    // Views of the shared buffers would keep 200 × 64 KiB alive; copies keep 200 small requests.
    assert.ok(grown < 4 * 1024 * 1024, `array buffers grew by ${grown} bytes`);
    // Once the peer reads again, every queued message arrives, in order.
    (peers[0] as NetSocket).resume();
    await waitFor(() => Buffer.concat(stalledBytes).includes("T: 199\r\n"), 10_000);
    const text = Buffer.concat(stalledBytes).toString("latin1");
    let at = 0;
    for (let t = 0; t < 200; t++) {
      const next = text.indexOf(`T: ${t}\r\n`, at);
      assert.ok(next > at, `message ${t} missing or out of order`);
      at = next;
    }
    await stalled.close();
    await busy.close();
    for (const p of peers) p.destroy();
    srv.close();
  });

  test("large bodies (4 MiB) cross intact in both directions", async () => {
    const n = accepted.length;
    const client = await transport.dial(listener.address);
    const big = new Uint8Array(4 * 1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 255;
    await client.send({ header: {}, body: big });
    await waitFor(() => accepted.length > n);
    const server = accepted[n] as Socket;
    const m = await server.recv({ timeoutMs: 5000 });
    assert.equal(Buffer.compare(Buffer.from(m.body), Buffer.from(big)), 0);
    await server.send({ header: {}, body: m.body });
    const back = await client.recv({ timeoutMs: 5000 });
    assert.equal(Buffer.compare(Buffer.from(back.body), Buffer.from(big)), 0);
    await client.close();
  });

  test("dial errors: refused is 503, aborted is 499, bad address is 400", async () => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1");
    await once(srv, "listening");
    const port = (srv.address() as { port: number }).port;
    srv.close();
    await once(srv, "close");
    await assert.rejects(transport.dial(`127.0.0.1:${port}`), { code: 503 });
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(transport.dial(listener.address, { signal: ac.signal }), { code: 499 });
    await assert.rejects(transport.dial("no-port-here"), { code: 400 });
  });

  test("listening on a port in use is a 409", async () => {
    await assert.rejects(transport.listen(listener.address), { code: 409 });
  });

  test("IPv6 loopback: [::1]:0", async (t) => {
    let l: Listener;
    try {
      l = await transport.listen("[::1]:0");
    } catch {
      t.skip("no IPv6 loopback on this machine");
      return;
    }
    assert.match(l.address, /^\[::1\]:\d+$/);
    const it = l[Symbol.asyncIterator]();
    const client = await transport.dial(l.address);
    await client.send({ header: { A: "1" }, body: new Uint8Array() });
    const server = (await it.next()).value as Socket;
    assert.equal((await server.recv({ timeoutMs: 2000 })).header.A, "1");
    await client.close();
    await server.close();
    await l.close();
  });

  test("closing a listener ends its iteration and keeps open sockets open", async () => {
    const l = await transport.listen("127.0.0.1:0");
    const it = l[Symbol.asyncIterator]();
    const client = await transport.dial(l.address);
    const server = (await it.next()).value as Socket;
    await l.close();
    assert.equal((await it.next()).done, true);
    await client.send({ header: { Still: "open" }, body: new Uint8Array() });
    assert.equal((await server.recv({ timeoutMs: 2000 })).header.Still, "open");
    await assert.rejects(transport.dial(l.address), { code: 503 });
    await client.close();
    await server.close();
  });
});
