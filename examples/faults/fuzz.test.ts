import assert from "node:assert/strict";
import { connect } from "node:net";
import { describe, test } from "node:test";
import { createBytesCodec, createJsonCodec, isMicroError, MicroError } from "@microts/core";
import { createHttpTransport } from "@microts/http";
import { acceptQueue, recvUntilError } from "@microts/testing";
import fc from "fast-check";
// The parser is not part of @microts/http's public API; it is fuzzed here directly, and through
// the public transport below.
import { HttpParser } from "../../packages/http/src/http-parser.js";

// Property-based fuzzing of the HTTP framing and of core's codecs.
const LIMITS = { maxHeaderBytes: 1024, maxBodyBytes: 4096 };
const RUNS = Number(process.env.FUZZ_RUNS ?? 300);

interface Parsed {
  messages: Array<{ header: Record<string, string>; body: string }>;
  errors: MicroError[];
}

/**
 * Feeds `chunks` to a request parser, then EOF; collects messages and errors. `idle`: the parser
 * was between messages before EOF (a live connection would just wait for more).
 */
function parse(chunks: Uint8Array[]): Parsed & { truncated: boolean; idle: boolean } {
  const out: Parsed = { messages: [], errors: [] };
  const parser = new HttpParser("request", LIMITS, {
    onMessage(header, body) {
      assert.equal(out.errors.length, 0, "no message after an error");
      out.messages.push({ header, body: Buffer.from(body).toString("latin1") });
    },
    onError(error) {
      out.errors.push(error);
    },
  });
  for (const c of chunks) parser.push(Buffer.from(c));
  const idle = out.errors.length === 0 && !parser.busy;
  return { ...out, idle, truncated: parser.end() };
}

/** Splits `data` at the given (sorted, deduplicated) cut points. */
function split(data: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let from = 0;
  for (const p of points) {
    out.push(data.subarray(from, p));
    from = p;
  }
  out.push(data.subarray(from));
  return out;
}

const token = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,15}$/);
const reserved = new Set(["host", "content-length", "transfer-encoding"]);
const headerValue = fc
  .array(fc.constantFrom(...Array.from("abcXYZ019 -_:;/.,=\"'{}é€😀")), { maxLength: 40 })
  .map((cs) => cs.join("").trim());
const message = fc.record({
  header: fc.dictionary(
    token.filter((k) => !reserved.has(k.toLowerCase())),
    headerValue,
    { maxKeys: 8, noNullPrototype: true },
  ),
  body: fc.uint8Array({ maxLength: 600 }),
  chunked: fc.boolean(),
  bareLf: fc.boolean(),
});
type Msg = typeof message extends fc.Arbitrary<infer T> ? T : never;

/** Bytes of a message's header block as {@link serialize} writes it (an upper bound). */
function headBytes(m: Msg): number {
  let n = 80; // request line, Host, Content-Length or Transfer-Encoding, blank line
  for (const [k, v] of Object.entries(m.header)) n += Buffer.byteLength(`${k}: ${v}\r\n`);
  return n;
}

/** One request as a Go Micro client writes it (or chunked, or with bare LF line ends). */
function serialize(m: Msg): Buffer {
  const nl = m.bareLf ? "\n" : "\r\n";
  const lines = ["POST / HTTP/1.1", "Host: 127.0.0.1"];
  for (const [k, v] of Object.entries(m.header)) lines.push(`${k}: ${v}`);
  if (!m.chunked) {
    lines.push(`Content-Length: ${m.body.length}`);
    return Buffer.concat([Buffer.from(lines.join(nl) + nl + nl), m.body]);
  }
  lines.push("Transfer-Encoding: chunked");
  const parts: Buffer[] = [Buffer.from(lines.join(nl) + nl + nl)];
  for (let i = 0; i < m.body.length; i += 200) {
    const c = m.body.subarray(i, i + 200);
    parts.push(Buffer.from(`${c.length.toString(16)}\r\n`), Buffer.from(c), Buffer.from("\r\n"));
  }
  parts.push(Buffer.from("0\r\n\r\n"));
  return Buffer.concat(parts);
}

/** Valid requests with a few bytes overwritten, and possibly cut short. */
const mutated = fc
  .tuple(
    fc.array(message, { minLength: 1, maxLength: 3 }),
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }),
    fc.option(fc.nat()),
  )
  .map(([msgs, edits, cut]) => {
    const data = Buffer.concat(msgs.map(serialize));
    for (const [pos, byte] of edits) data[pos % data.length] = byte;
    return cut === null ? data : data.subarray(0, cut % (data.length + 1));
  });

/**
 * Random bytes; random bytes mixed with pieces of HTTP; valid requests with bytes overwritten or
 * cut short: enough structure to get deep into the parser.
 */
const hostileStream = fc.oneof(
  mutated,
  fc.uint8Array({ maxLength: 3000 }),
  fc
    .array(
      fc.oneof(
        fc.uint8Array({ maxLength: 64 }),
        fc.constantFrom(
          "POST / HTTP/1.1\r\n",
          "HTTP/1.1 200 OK\r\n",
          "Content-Length: 5\r\n",
          "Content-Length: 99999999\r\n",
          "Content-Length: -1\r\n",
          "Transfer-Encoding: chunked\r\n",
          "\r\n",
          "\n",
          "ffff\r\n",
          "0\r\n\r\n",
          ": x\r\n",
          " folded\r\n",
          `X-Big: ${"a".repeat(1100)}\r\n`,
        ),
      ),
      { maxLength: 30 },
    )
    .map((parts) => Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p) : p)))),
);

describe("fuzz: HTTP framing", () => {
  test("random byte streams split anywhere: only MicroError 400/413, at most once, never a throw", () => {
    let errors = 0;
    let messages = 0;
    fc.assert(
      fc.property(hostileStream, fc.array(fc.nat(), { maxLength: 20 }), (data, cuts) => {
        const r = parse(split(data, cuts));
        assert.ok(r.errors.length <= 1, "an error is reported once");
        for (const e of r.errors) {
          assert.ok(e instanceof MicroError);
          assert.ok(e.code === 400 || e.code === 413, `code ${e.code}: ${e.detail}`);
        }
        // Where the stream is split must not change what it means.
        const whole = parse([data]);
        assert.deepEqual(
          { m: r.messages, e: r.errors.map(String), t: r.truncated },
          { m: whole.messages, e: whole.errors.map(String), t: whole.truncated },
        );
        errors += r.errors.length;
        messages += r.messages.length;
      }),
      { numRuns: RUNS * 3 },
    );
    console.log(`# counts fuzz parser hostile: ${JSON.stringify({ runs: RUNS * 3, errors, messages })}`);
  });

  test("valid pipelined requests split at arbitrary chunk boundaries parse identically", () => {
    let total = 0;
    fc.assert(
      fc.property(
        fc.array(message, { minLength: 1, maxLength: 4 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        (msgs, cuts) => {
          // Valid means within the limits too: a header block past maxHeaderBytes is a 413.
          fc.pre(msgs.every((m) => headBytes(m) <= LIMITS.maxHeaderBytes));
          const data = Buffer.concat(msgs.map(serialize));
          const r = parse(split(data, cuts));
          assert.deepEqual(r.errors, []);
          assert.equal(r.truncated, false);
          assert.deepEqual(
            r.messages,
            msgs.map((m) => ({ header: m.header, body: Buffer.from(m.body).toString("latin1") })),
          );
          total += msgs.length;
        },
      ),
      { numRuns: RUNS },
    );
    console.log(`# counts fuzz parser valid: ${JSON.stringify({ runs: RUNS, messages: total })}`);
  });

  test("through the transport: random streams end the server socket with 400/413/408/503, never a hang", {
    timeout: 60_000,
  }, async () => {
    const transport = createHttpTransport({ ...LIMITS, headerTimeoutMs: 200 });
    const listener = await transport.listen("127.0.0.1:0");
    const queue = acceptQueue(listener);
    const i = listener.address.lastIndexOf(":");
    const port = Number(listener.address.slice(i + 1));
    const codes: Record<string, number> = {};
    let received = 0;
    const runs = Math.max(20, Math.floor(RUNS / 5));
    try {
      await fc.assert(
        fc.asyncProperty(
          hostileStream,
          fc.array(fc.nat(), { maxLength: 8 }),
          fc.boolean(),
          async (data, cuts, halfClose) => {
            const serverP = queue.next();
            const sock = connect({ host: "127.0.0.1", port });
            sock.on("error", () => {});
            await new Promise<void>((r) => sock.once("connect", () => r()));
            const server = await serverP;
            for (const c of split(data, cuts)) {
              sock.write(c);
              await new Promise((r) => setImmediate(r));
            }
            // Without EOF, a connection left between messages waits (idle connections are kept,
            // as Go clients pool them); one left mid-message must end by the header timeout.
            const idle = !halfClose && parse([data]).idle;
            if (halfClose) sock.end();
            const outcome = await recvUntilError(server, idle ? 500 : 3_000);
            const { error: ended, ms } = outcome;
            received += outcome.received;
            sock.destroy();
            await server.close();
            assert.ok(isMicroError(ended), String(ended));
            if (idle) {
              assert.match(ended.detail, /^recv from .*: deadline of 500ms exceeded$/);
              codes.idle = (codes.idle ?? 0) + 1;
              return;
            }
            const code = ended.code;
            codes[code] = (codes[code] ?? 0) + 1;
            // 408 from our own recv timeout would be a hang: the header timeout is 200 ms.
            assert.ok(ms < 2_500, `recv ended after ${ms} ms (${ended.detail})`);
            assert.ok([400, 408, 413, 503].includes(code), `code ${code}: ${ended.detail}`);
            if (code === 408) assert.match(ended.detail, /timed out after 200ms reading a request/);
          },
        ),
        { numRuns: runs },
      );
    } finally {
      await listener.close();
      await transport.close();
    }
    console.log(`# counts fuzz transport: ${JSON.stringify({ runs, received, endedWith: codes })}`);
  });
});

describe("fuzz: core codecs", () => {
  const json = createJsonCodec();

  test("JSON: random bytes decode or fail with MicroError 400, nothing else", () => {
    let rejected = 0;
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 200 }),
          fc.string().map((s) => new TextEncoder().encode(s)),
          fc.jsonValue().map((v) => new TextEncoder().encode(JSON.stringify(v).slice(0, -1))),
        ),
        (data) => {
          try {
            json.unmarshal(data);
          } catch (err) {
            assert.ok(isMicroError(err) && err.code === 400, String(err));
            rejected++;
          }
        },
      ),
      { numRuns: RUNS * 3 },
    );
    console.log(`# counts fuzz json invalid: ${JSON.stringify({ runs: RUNS * 3, rejected })}`);
  });

  test("JSON: any JSON value survives marshal → unmarshal", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const expected: unknown = JSON.parse(JSON.stringify(v) ?? "{}");
        assert.deepEqual(json.unmarshal(json.marshal(v)), v === null ? null : expected);
      }),
      { numRuns: RUNS },
    );
  });

  test("bytes: any body survives marshal → unmarshal", () => {
    const bytes = createBytesCodec();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1000 }), (b) => {
        assert.deepEqual(new Uint8Array(bytes.unmarshal(bytes.marshal(b)) as Uint8Array), b);
      }),
      { numRuns: RUNS },
    );
  });

  test("Micro-Error headers: any string parses to a MicroError, never a throw", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json()), (s) => {
        assert.ok(MicroError.parse(s) instanceof MicroError);
      }),
      { numRuns: RUNS },
    );
  });
});
