import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Listener, Transport } from "@microts/core";
import { MicroError } from "@microts/core";
import { createHttpTransport } from "@microts/http";
import { type AcceptQueue, acceptQueue, rawConnection } from "@microts/testing";
import { FrameKind, frameBytes, HeaderEncoder, PREFACE } from "./frame.js";
import { createTcpTransport } from "./tcp-transport.js";

/** A frame of `kind` with `payload`, its length field overwritten when `length` is given. */
function frame(kind: number, payload: number[] | Buffer, length?: number): Buffer {
  const f = frameBytes(kind, Buffer.from(payload));
  if (length !== undefined) f.writeUInt32BE(length, 0);
  return f;
}

const isError = (code: number, detail: RegExp) => (e: unknown) => {
  assert.ok(e instanceof MicroError, String(e));
  assert.equal(e.code, code, e.detail);
  assert.match(e.detail, detail);
  return true;
};

describe("tcp transport: hostile input", { timeout: 30_000 }, () => {
  let transport: Transport;
  let listener: Listener;
  let queue: AcceptQueue;
  const nextAccepted = () => queue.next();

  before(async () => {
    transport = createTcpTransport({ maxHeaderBytes: 1024, maxBodyBytes: 4096, frameTimeoutMs: 300 });
    listener = await transport.listen("127.0.0.1:0");
    queue = acceptQueue(listener);
  });
  after(async () => {
    for (const s of queue.all) await s.close();
    await transport.close();
  });

  /** Sends `bytes` on a fresh connection; checks the server's error, that it closed, and what it said. */
  async function reject(bytes: Buffer | string, code: number, detail: RegExp): Promise<Buffer> {
    const serverP = nextAccepted();
    const c = await rawConnection(listener.address);
    const server = await serverP;
    c.sock.write(bytes);
    await assert.rejects(server.recv({ timeoutMs: 3000 }), isError(code, detail));
    assert.equal(((await server.closed) as MicroError | undefined)?.code, code);
    await c.closed;
    await healthy();
    return c.bytes();
  }

  /** Every other connection keeps working. */
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

  /** The error frame the server sent after its preface, parsed. */
  function errorFrame(wire: Buffer): MicroError {
    assert.ok(wire.subarray(0, PREFACE.length).equals(PREFACE), "the server's preface comes first");
    const f = wire.subarray(PREFACE.length);
    assert.equal(f[4], FrameKind.Error);
    assert.equal(f.readUInt32BE(0), f.length - 4);
    return MicroError.parse(f.toString("utf8", 5));
  }

  test("an HTTP request is answered with an HTTP 400 that says what the port speaks", async () => {
    const wire = await reject(
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
      400,
      /does not speak/,
    );
    assert.match(wire.toString(), /^HTTP\/1\.1 400 Bad Request\r\n[\s\S]*micro-ts TCP transport, not HTTP/);
  });

  test("garbage instead of the preface: 400, the connection is cut", async () => {
    const wire = await reject(Buffer.from([0, 1, 2, 3, 255, 254, 253, 252, 9, 9]), 400, /does not speak/);
    assert.equal(wire.length, 0);
  });

  test("a frame longer than the limits: 413 from its length alone, the peer told why", async () => {
    const err = errorFrame(
      await reject(Buffer.concat([PREFACE, frame(1, [0], 1 << 30)]), 413, /exceeds the limit/),
    );
    assert.equal(err.code, 413);
  });

  test("malformed frames: 400 with the reason, also in the error frame", async () => {
    const cases: Array<[Buffer, RegExp]> = [
      [frame(1, [], 0), /empty/],
      [frame(7, [0]), /unknown kind 7/],
      [frame(1, [1, 9]), /unknown header op 9/],
      [frame(1, [3, 4, 0]), /unknown header pair 0/],
      [frame(1, [1, 0, 50, 65]), /runs past the header block/],
    ];
    for (const [f, detail] of cases) {
      const err = errorFrame(await reject(Buffer.concat([PREFACE, f]), 400, detail));
      assert.match(err.detail, detail);
    }
  });

  test("an error frame ends the connection with the peer's error; one that holds no error is a 400", async () => {
    const peer = new MicroError("peer", "going away", 503);
    await reject(
      Buffer.concat([PREFACE, frame(2, Buffer.from(String(peer)))]),
      503,
      /closed the connection: going away$/,
    );
    const cases: Array<[Buffer, RegExp]> = [
      [frame(2, []), /holds no error \(""\)/],
      [frame(2, Buffer.from("not json")), /holds no error \("not json"\)/],
      [frame(2, Buffer.from('{"code":0}')), /holds no error/],
      [frame(2, Buffer.alloc(300, 120)), /holds no error \("x{64}…"\)/],
    ];
    for (const [f, detail] of cases) await reject(Buffer.concat([PREFACE, f]), 400, detail);
  });

  test("a body over the limit: 413", async () => {
    await reject(
      Buffer.concat([PREFACE, frame(1, Buffer.concat([Buffer.from([0]), Buffer.alloc(5000)]))]),
      413,
      /body of 5000 bytes/,
    );
  });

  test("a frame that stalls: 408 after the frame timeout", async () => {
    await reject(Buffer.concat([PREFACE, frame(1, [0, 1, 2, 3], 100)]), 408, /timed out after 300ms/);
  });

  test("a peer that closes in the middle of a frame: 503", async () => {
    const serverP = nextAccepted();
    const c = await rawConnection(listener.address);
    const server = await serverP;
    c.sock.end(Buffer.concat([PREFACE, frame(1, [0, 1], 50)]));
    await assert.rejects(server.recv({ timeoutMs: 3000 }), isError(503, /middle of a frame/));
  });

  test("an outgoing body or header over the limit is refused with 413; the connection stays usable", async () => {
    const serverP = nextAccepted();
    const client = await transport.dial(listener.address);
    const server = await serverP;
    await assert.rejects(
      client.send({ header: {}, body: new Uint8Array(5000) }),
      isError(413, /body of 5000/),
    );
    await assert.rejects(
      client.send({ header: { Big: "x".repeat(2000) }, body: new Uint8Array() }),
      isError(413, /header block/),
    );
    await client.send({ header: { Ok: "1" }, body: new Uint8Array([7]) });
    const got = await server.recv({ timeoutMs: 2000 });
    assert.deepEqual([got.header, [...got.body]], [{ Ok: "1" }, [7]]);
    await client.close();
  });

  test("frames split across reads at every kind of boundary arrive whole and in order", async () => {
    const enc = new HeaderEncoder();
    const sent: Array<{ header: Record<string, string>; body: Buffer }> = [];
    const parts: Buffer[] = [PREFACE];
    for (let i = 0; i < 60; i++) {
      const header = {
        "Micro-Id": String(i),
        "Content-Type": "application/json",
        [`X-${i % 4}`]: "v".repeat(i % 9),
      };
      const body = Buffer.alloc((i * 37) % 900, i);
      const n = enc.encode(header, 1024);
      parts.push(
        frameBytes(FrameKind.Message, HeaderEncoder.buffer.subarray(enc.start, enc.start + n), body),
      );
      sent.push({ header, body });
    }
    const wire = Buffer.concat(parts);
    const serverP = nextAccepted();
    const c = await rawConnection(listener.address);
    const server = await serverP;
    // Pieces of 1 to 97 bytes, each its own write and (mostly) its own read on the other side.
    for (let at = 0, k = 0; at < wire.length; k++) {
      const n = 1 + ((k * 31) % 97);
      c.sock.write(wire.subarray(at, at + n));
      at += n;
      if (k % 8 === 0) await new Promise((r) => setTimeout(r, 1));
    }
    for (const want of sent) {
      const got = await server.recv({ timeoutMs: 3000 });
      assert.deepEqual(got.header, want.header);
      assert.ok(Buffer.from(got.body).equals(want.body), `body of message ${want.header["Micro-Id"]}`);
    }
    c.sock.destroy();
  });

  test("an HTTP-transport client (a Go Micro client) is told what the port speaks", async () => {
    const http = createHttpTransport();
    try {
      const client = await http.dial(listener.address);
      await client.send({ header: { "Micro-Id": "1" }, body: new Uint8Array() });
      await assert.rejects(
        client.recv({ timeoutMs: 3000 }),
        isError(500, /^400 Bad Request: .*micro-ts TCP transport, not HTTP/),
      );
    } finally {
      await http.close();
    }
  });

  /** Runs `body` against a listener of `other` that reads one message per connection, then closes it. */
  async function against(other: Transport, body: (address: string) => Promise<void>): Promise<void> {
    const l = await other.listen("127.0.0.1:0");
    const served = (async () => {
      for await (const s of l) void s.recv().catch(() => {});
    })();
    try {
      await body(l.address);
    } finally {
      await other.close();
      await served;
    }
  }

  test("the client hears the server's reason when the server closes on bad input", async () => {
    await against(createTcpTransport({ maxBodyBytes: 10 }), async (address) => {
      const client = await transport.dial(address);
      await client.send({ header: {}, body: new Uint8Array(100) });
      await assert.rejects(
        client.recv({ timeoutMs: 3000 }),
        isError(413, /closed the connection: .*body of 100 bytes/),
      );
    });
  });

  test("dialling a server that speaks another protocol fails with 400 once it answers", async () => {
    // The HTTP server answers the preface (an unfinished request to it) when its header timeout ends.
    await against(createHttpTransport({ headerTimeoutMs: 200 }), async (address) => {
      const client = await transport.dial(address);
      await client.send({ header: { "Micro-Id": "1" }, body: new Uint8Array() });
      await assert.rejects(
        client.recv({ timeoutMs: 3000 }),
        isError(400, /does not speak the micro-ts TCP transport \(it sent "HTTP\/1\.1 408/),
      );
      await client.close();
    });
  });
});
