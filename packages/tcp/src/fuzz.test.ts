import assert from "node:assert/strict";
import { connect } from "node:net";
import { test } from "node:test";
import { isMicroError } from "@microts/core";
import { acceptQueue, recvUntilError } from "@microts/testing";
import fc from "fast-check";
import { FrameKind, frameBytes, HeaderEncoder, PREFACE } from "./frame.js";
import { createTcpTransport } from "./tcp-transport.js";

/** Fuzz runs (FUZZ_RUNS overrides). */
const RUNS = Number(process.env.FUZZ_RUNS ?? 60);

/** A valid message frame, encoded by `enc` (whose tables the stream's reader then shares). */
function validFrame(enc: HeaderEncoder, header: Record<string, string>, body: Uint8Array): Buffer {
  const n = enc.encode(header, 1 << 16);
  return frameBytes(FrameKind.Message, HeaderEncoder.buffer.subarray(enc.start, enc.start + n), body);
}

type Piece =
  | { kind: "valid"; header: Record<string, string>; body: Uint8Array }
  | { kind: "mutated"; header: Record<string, string>; at: number; byte: number }
  | { kind: "raw"; bytes: Uint8Array }
  | { kind: "length"; length: number };

const piece: fc.Arbitrary<Piece> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("valid" as const),
      header: fc.dictionary(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 }), { maxKeys: 4 }),
      body: fc.uint8Array({ maxLength: 64 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("mutated" as const),
      header: fc.dictionary(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 }), { maxKeys: 4 }),
      at: fc.nat(),
      byte: fc.nat(255),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("raw" as const), bytes: fc.uint8Array({ maxLength: 40 }) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("length" as const), length: fc.nat() }) },
);

/** The bytes of a stream: maybe the preface, then the pieces. */
function streamBytes(preface: boolean, pieces: Piece[]): Buffer {
  const enc = new HeaderEncoder();
  const out: Buffer[] = preface ? [PREFACE] : [];
  for (const p of pieces) {
    if (p.kind === "valid") out.push(validFrame(enc, p.header, p.body));
    else if (p.kind === "mutated") {
      const f = validFrame(enc, p.header, new Uint8Array(8));
      f[p.at % f.length] = p.byte;
      out.push(f);
    } else if (p.kind === "raw") out.push(Buffer.from(p.bytes));
    else {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(p.length % 2 ** 32, 0);
      out.push(b);
    }
  }
  return Buffer.concat(out);
}

function split(data: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => (data.length === 0 ? 0 : c % data.length)))].sort(
    (a, b) => a - b,
  );
  const out: Buffer[] = [];
  let at = 0;
  for (const p of points) {
    if (p > at) out.push(data.subarray(at, p));
    at = Math.max(at, p);
  }
  out.push(data.subarray(at));
  return out;
}

test("random byte streams end the server socket with 400/413/408/503 or leave it idle, never a crash or hang", {
  timeout: 120_000,
}, async () => {
  const transport = createTcpTransport({ maxHeaderBytes: 512, maxBodyBytes: 1024, frameTimeoutMs: 200 });
  const listener = await transport.listen("127.0.0.1:0");
  const queue = acceptQueue(listener);
  const port = Number(listener.address.slice(listener.address.lastIndexOf(":") + 1));
  const codes: Record<string, number> = {};
  let received = 0;
  try {
    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        fc.array(piece, { maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        fc.boolean(),
        async (preface, pieces, cuts, halfClose) => {
          const data = streamBytes(preface, pieces);
          const serverP = queue.next();
          const sock = connect({ host: "127.0.0.1", port });
          sock.on("error", () => {});
          await new Promise<void>((r) => sock.once("connect", () => r()));
          const server = await serverP;
          for (const c of split(data, cuts)) {
            sock.write(c);
            await new Promise((r) => setImmediate(r));
          }
          if (halfClose) sock.end();
          const outcome = await recvUntilError(server, 600);
          const { error: ended, ms } = outcome;
          received += outcome.received;
          sock.destroy();
          await server.close();
          assert.ok(isMicroError(ended), String(ended));
          if (/deadline of 600ms exceeded$/.test(ended.detail)) {
            // Only a connection left between frames (or before any byte) waits.
            assert.ok(!halfClose, "a half-closed connection ended");
            codes.idle = (codes.idle ?? 0) + 1;
            return;
          }
          codes[ended.code] = (codes[ended.code] ?? 0) + 1;
          assert.ok(ms < 2_500, `recv ended after ${ms} ms (${ended.detail})`);
          assert.ok([400, 408, 413, 503].includes(ended.code), `code ${ended.code}: ${ended.detail}`);
          if (ended.code === 408) assert.match(ended.detail, /timed out after 200ms reading a frame/);
        },
      ),
      {
        numRuns: RUNS,
        // One stream for each way a stream can end, so the check below never depends on chance.
        examples: [
          [false, [{ kind: "raw", bytes: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]) }], [], true],
          [true, [{ kind: "valid", header: { a: "1" }, body: new Uint8Array([1]) }], [3], true],
          [true, [{ kind: "valid", header: { a: "1" }, body: new Uint8Array([1]) }], [], false],
        ],
      },
    );
  } finally {
    await listener.close();
    await transport.close();
  }
  // Each way a stream can end was reached (the examples above make sure of it).
  for (const k of ["400", "503", "idle"])
    assert.ok((codes[k] ?? 0) > 0, `no run ended with ${k}: ${JSON.stringify(codes)}`);
  console.log(`# counts fuzz tcp transport: ${JSON.stringify({ runs: RUNS, received, endedWith: codes })}`);
});
