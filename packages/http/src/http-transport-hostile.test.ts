import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer } from "node:net";
import { after, before, describe, test } from "node:test";
import type { Listener, Transport } from "@microts/core";
import { MicroError } from "@microts/core";
import { type AcceptQueue, acceptQueue, rawConnection } from "@microts/testing";
import { createHttpTransport } from "./http-transport.js";

const ok = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nMicro-Id: 1\r\n\r\nhi";

describe("http transport: hostile input", { timeout: 30_000 }, () => {
  let transport: Transport;
  let listener: Listener;
  let queue: AcceptQueue;
  /** The server side of the next accepted connection. */
  const nextAccepted = () => queue.next();

  before(async () => {
    transport = createHttpTransport({ maxHeaderBytes: 1024, maxBodyBytes: 4096, headerTimeoutMs: 300 });
    listener = await transport.listen("127.0.0.1:0");
    queue = acceptQueue(listener);
  });
  after(async () => {
    for (const s of queue.all) await s.close();
    await transport.close();
  });

  /** Sends `bytes` on a fresh connection; checks the error surfaced to recv and the reply. */
  async function reject(bytes: string | Buffer, code: number, detail: RegExp, wire: RegExp): Promise<void> {
    const serverP = nextAccepted();
    const c = await rawConnection(listener.address);
    const server = await serverP;
    c.sock.write(bytes);
    await assert.rejects(server.recv({ timeoutMs: 3000 }), (e: unknown) => {
      assert.ok(e instanceof MicroError, String(e));
      assert.equal(e.code, code);
      assert.match(e.detail, detail);
      return true;
    });
    assert.equal(((await server.closed) as MicroError | undefined)?.code, code);
    await c.closed; // the server closed the connection
    assert.match(c.text(), wire);
    // Every other connection keeps working.
    await healthy();
  }

  async function healthy(): Promise<void> {
    const serverP = nextAccepted();
    const client = await transport.dial(listener.address);
    const server = await serverP;
    await client.send({ header: { Ping: "1" }, body: new Uint8Array([1]) });
    assert.equal((await server.recv({ timeoutMs: 2000 })).header.Ping, "1");
    await server.send({ header: { Pong: "1" }, body: new Uint8Array() });
    assert.equal((await client.recv({ timeoutMs: 2000 })).header.Pong, "1");
    await client.close();
  }

  test("garbage bytes: 400", async () => {
    const garbage = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 7919) & 255));
    await reject(
      Buffer.concat([garbage, Buffer.from("\r\n\r\n")]),
      400,
      /malformed request line/,
      /^HTTP\/1\.1 400 Bad Request\r\n/,
    );
  });

  test("malformed request line: 400", async () => {
    await reject("GET\r\n\r\n", 400, /malformed request line/, /^HTTP\/1\.1 400 Bad Request\r\n/);
  });

  test("header line without colon: 400", async () => {
    await reject("POST / HTTP/1.1\r\nHost x\r\n\r\n", 400, /no colon/, /^HTTP\/1\.1 400 /);
  });

  test("non-numeric and negative Content-Length: 400", async () => {
    await reject(
      "POST / HTTP/1.1\r\nContent-Length: 12abc\r\n\r\n",
      400,
      /Content-Length/,
      /^HTTP\/1\.1 400 /,
    );
    await reject("POST / HTTP/1.1\r\nContent-Length: -5\r\n\r\n", 400, /Content-Length/, /^HTTP\/1\.1 400 /);
  });

  test("oversize header block: 413, even when it never ends", async () => {
    await reject(
      `POST / HTTP/1.1\r\nX-Big: ${"a".repeat(2000)}\r\n\r\n`,
      413,
      /header block too large/,
      /^HTTP\/1\.1 413 /,
    );
    await reject(
      `POST / HTTP/1.1\r\nX-Big: ${"a".repeat(2000)}`,
      413,
      /header block too large/,
      /^HTTP\/1\.1 413 /,
    );
  });

  test("oversize body: 413 as soon as the length is announced", async () => {
    await reject(
      "POST / HTTP/1.1\r\nContent-Length: 100000\r\n\r\n",
      413,
      /body too large/,
      /^HTTP\/1\.1 413 /,
    );
    await reject(
      `POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n${"x".repeat(2048)}\r\n1000\r\n`,
      413,
      /body too large/,
      /^HTTP\/1\.1 413 /,
    );
  });

  test("a partial request that stalls: 408 after headerTimeoutMs", async () => {
    const t0 = Date.now();
    await reject(
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Le",
      408,
      /timed out after 300ms reading a request header/,
      /^HTTP\/1\.1 408 /,
    );
    const took = Date.now() - t0;
    assert.ok(took >= 280 && took < 2500, `took ${took} ms`);
  });

  test("a body that stalls: 408", async () => {
    await reject("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc", 408, /request body/, /^HTTP\/1\.1 408 /);
  });

  test("a header trickled in slowly still times out (the limit is from its first byte)", async () => {
    const serverP = nextAccepted();
    const c = await rawConnection(listener.address);
    const server = await serverP;
    const t0 = Date.now();
    const timer = setInterval(() => c.sock.write("X"), 50);
    c.sock.write("POST / HTTP/1.1\r\nX-Slow: ");
    await assert.rejects(server.recv({ timeoutMs: 3000 }), { code: 408 });
    clearInterval(timer);
    assert.ok(Date.now() - t0 < 1500);
    c.sock.destroy();
  });

  test("idle connections are not timed out; a request after the idle time works", async () => {
    const serverP = nextAccepted();
    const c = await rawConnection(listener.address);
    const server = await serverP;
    c.sock.write(ok);
    await server.recv({ timeoutMs: 2000 });
    await new Promise((r) => setTimeout(r, 700)); // more than twice headerTimeoutMs
    c.sock.write(ok);
    const m = await server.recv({ timeoutMs: 2000 });
    assert.equal(m.header["Micro-Id"], "1");
    c.sock.destroy();
  });

  test("a peer that resets mid-request: 503 to recv, no crash", async () => {
    const serverP = nextAccepted();
    const c = await rawConnection(listener.address);
    const server = await serverP;
    c.sock.write("POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\nabc");
    await new Promise((r) => setTimeout(r, 20));
    c.sock.resetAndDestroy();
    await assert.rejects(server.recv({ timeoutMs: 3000 }), { code: 503 });
    await healthy();
  });

  test("the client side rejects a garbage response with 400 and closes", async () => {
    const srv = createServer((s) => {
      s.on("error", () => {});
      s.write("SSH-2.0-OpenSSH_9.6\r\n\r\n");
    });
    srv.listen(0, "127.0.0.1");
    await once(srv, "listening");
    const sock = await transport.dial(`127.0.0.1:${(srv.address() as { port: number }).port}`);
    await assert.rejects(sock.recv({ timeoutMs: 2000 }), { code: 400, detail: /malformed status line/ });
    assert.equal(((await sock.closed) as MicroError).code, 400);
    srv.close();
  });

  test("the client side times out a response that stalls mid-way", async () => {
    const srv = createServer((s) => {
      s.on("error", () => {});
      s.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
    });
    srv.listen(0, "127.0.0.1");
    await once(srv, "listening");
    const sock = await transport.dial(`127.0.0.1:${(srv.address() as { port: number }).port}`);
    await assert.rejects(sock.recv({ timeoutMs: 3000 }), { code: 408, detail: /response body/ });
    srv.close();
  });

  test("many hostile connections at once do not disturb a healthy one", async () => {
    const bad = await Promise.all(Array.from({ length: 20 }, () => rawConnection(listener.address)));
    const servers = await Promise.all(bad.map(() => queue.next()));
    for (const [i, c] of bad.entries())
      c.sock.write(i % 2 ? "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n" : "POST");
    await healthy();
    const codes = await Promise.all(servers.map((s) => s.recv().catch((e: MicroError) => e.code)));
    assert.deepEqual(new Set(codes), new Set([400, 408]));
    for (const c of bad) c.sock.destroy();
  });
});
