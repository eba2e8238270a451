import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { MicroError } from "@microts/core";
import { HttpParser } from "./http-parser.js";
import { exampleA } from "./testdata/go-examples.js";

interface Got {
  header: Record<string, string>;
  body: string;
  status: number;
  reason: string;
}

function parse(mode: "request" | "response", chunks: (string | Buffer)[], limits = {}) {
  const messages: Got[] = [];
  const errors: MicroError[] = [];
  const p = new HttpParser(
    mode,
    { maxHeaderBytes: 64 * 1024, maxBodyBytes: 1024 * 1024, ...limits },
    {
      onMessage(header, body, status, reason) {
        messages.push({ header, body: Buffer.from(body).toString("utf8"), status, reason });
      },
      onError(e) {
        errors.push(e);
      },
    },
  );
  for (const c of chunks) p.push(typeof c === "string" ? Buffer.from(c, "utf8") : c);
  return { messages, errors, parser: p };
}

const exampleAHeader = {
  "User-Agent": "Go-http-client/1.1",
  Accept: "application/json",
  "Content-Type": "application/json",
  "Micro-Endpoint": "Greeter.Hello",
  "Micro-Id": "0",
  "Micro-Method": "Greeter.Hello",
  "Micro-Service": "greeter",
  Timeout: "5000000000",
};

describe("HttpParser", () => {
  test("example A in one chunk, and fed one byte at a time, gives the same message", () => {
    const whole = parse("request", [exampleA]);
    const bytes = Buffer.from(exampleA);
    const split = parse(
      "request",
      [...bytes].map((b) => Buffer.from([b])),
    );
    for (const r of [whole, split]) {
      assert.deepEqual(r.errors, []);
      assert.equal(r.messages.length, 1);
      assert.deepEqual(r.messages[0]?.header, exampleAHeader);
      assert.equal(r.messages[0]?.body, '{"name":"Alice"}\n');
      assert.equal(r.parser.busy, false);
    }
  });

  test("pipelined requests in one chunk are all reported, in order", () => {
    const r = parse("request", [exampleA + exampleA.replace("Alice", "Bobby") + exampleA]);
    assert.deepEqual(
      r.messages.map((m) => m.body),
      ['{"name":"Alice"}\n', '{"name":"Bobby"}\n', '{"name":"Alice"}\n'],
    );
  });

  test("chunked bodies with extensions and trailers", () => {
    const msg =
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nMicro-Id: 1\r\n\r\n" +
      "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n";
    for (const chunks of [[msg], [...msg]]) {
      const r = parse("request", chunks);
      assert.deepEqual(r.errors, []);
      assert.equal(r.messages.length, 1);
      assert.equal(r.messages[0]?.body, "hello world");
      assert.deepEqual(r.messages[0]?.header, { "Micro-Id": "1" });
    }
  });

  test("bare LF line endings are accepted (as Go's textproto does)", () => {
    const r = parse("request", ["POST / HTTP/1.1\nContent-Length: 2\nA: b\n\nhi"]);
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.messages[0], { header: { A: "b" }, body: "hi", status: 0, reason: "" });
  });

  test("a bare-LF blank line ends the head even when a CRLF one follows far beyond the limit", () => {
    // Found by fuzzing: the bare LF right after the request line ends the head, whatever follows.
    const input = `POST / HTTP/1.1\r\n\nX-Big: ${"a".repeat(1200)}\r\n0\r\n\r\n`;
    const limits = { maxHeaderBytes: 1024 };
    const whole = parse("request", [input], limits);
    const split = parse("request", [input.slice(0, 20), input.slice(20)], limits);
    // The request has no body; what follows is read as the next head, which is too large.
    assert.equal(whole.messages.length, 1);
    assert.deepEqual(whole.messages[0]?.header, {});
    assert.deepEqual(
      whole.errors.map((e) => e.code),
      [413],
    );
    assert.deepEqual(
      split.messages.map((m) => m.header),
      whole.messages.map((m) => m.header),
    );
    assert.deepEqual(
      split.errors.map((e) => e.code),
      [413],
    );
  });

  test("header names keep their case, first value wins, values are UTF-8 and trimmed", () => {
    const r = parse("request", [
      "POST / HTTP/1.1\r\nmicro-id: 7\r\nX-Name:   Zoë 😀  \r\nX-Dup: 1\r\nX-Dup: 2\r\n\r\n",
    ]);
    assert.deepEqual(r.messages[0]?.header, { "micro-id": "7", "X-Name": "Zoë 😀", "X-Dup": "1" });
    assert.equal(Object.getPrototypeOf(r.messages[0]?.header), Object.prototype);
  });

  test("common header names keep any spelling; Host and Content-Length are framing in any case", () => {
    const r = parse("request", [
      "POST / HTTP/1.1\r\nMICRO-ID: 1\r\nMicro-Id: 2\r\nmicro-id: 3\r\nMicro-ID: 4\r\nhOST: h\r\n" +
        "Hostname: n\r\nMicro-Idx: x\r\nTimeouts: t\r\nCONTENT-LENGTH: 2\r\n\r\nok",
    ]);
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.messages[0]?.header, {
      "MICRO-ID": "1",
      "Micro-Id": "2",
      "micro-id": "3",
      "Micro-ID": "4",
      Hostname: "n",
      "Micro-Idx": "x",
      Timeouts: "t",
    });
    assert.equal(r.messages[0]?.body, "ok");
    const conflict = parse("request", [
      "POST / HTTP/1.1\r\nContent-Length: 2\r\ncontent-length: 3\r\n\r\nok",
    ]);
    assert.deepEqual(
      conflict.errors.map((e) => e.code),
      [400],
    );
  });

  test("__proto__ as a header name is an ordinary key, not a prototype change", () => {
    const r = parse("request", ["POST / HTTP/1.1\r\n__proto__: x\r\n\r\n"]);
    const h = r.messages[0]?.header as Record<string, string>;
    assert.equal(Object.getPrototypeOf(h), Object.prototype);
    assert.equal(Object.getOwnPropertyDescriptor(h, "__proto__")?.value, "x");
  });

  test("responses: status and reason, 1xx skipped, body until EOF without a length", () => {
    const r = parse("response", [
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nA",
      "HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\nnope",
      "HTTP/1.1 200 OK\r\nMicro-Error: EOS\r\n\r\nrest of ",
      "the stream",
    ]);
    assert.equal(r.parser.busy, true);
    assert.equal(r.parser.end(), false);
    assert.deepEqual(
      r.messages.map((m) => [m.status, m.reason, m.body]),
      [
        [200, "OK", "A"],
        [404, "Not Found", "nope"],
        [200, "OK", "rest of the stream"],
      ],
    );
  });

  test("end() in the middle of a message reports truncation", () => {
    const r = parse("request", ["POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc"]);
    assert.equal(r.parser.end(), true);
    assert.equal(r.messages.length, 0);
  });

  const bad: [string, string, number, RegExp][] = [
    ["garbage", "\x00\x01\x02garbage\r\n\r\n", 400, /malformed request line/],
    ["HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400, /malformed request line/],
    ["request line with two words", "POST /\r\n\r\n", 400, /malformed request line/],
    ["header without colon", "POST / HTTP/1.1\r\nNoColonHere\r\n\r\n", 400, /no colon/],
    ["space in header name", "POST / HTTP/1.1\r\nBad Name: x\r\n\r\n", 400, /header name/],
    ["line folding", "POST / HTTP/1.1\r\nA: b\r\n c\r\n\r\n", 400, /folding/],
    ["non-numeric Content-Length", "POST / HTTP/1.1\r\nContent-Length: ten\r\n\r\n", 400, /Content-Length/],
    ["negative Content-Length", "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400, /Content-Length/],
    [
      "conflicting Content-Length",
      "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
      400,
      /conflicting/,
    ],
    [
      "unknown Transfer-Encoding",
      "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
      400,
      /Transfer-Encoding/,
    ],
    ["bad chunk size", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400, /chunk size/],
    [
      "chunk without CRLF after its data",
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX",
      400,
      /missing CRLF/,
    ],
    ["body over the limit", "POST / HTTP/1.1\r\nContent-Length: 2000\r\n\r\n", 413, /body too large/],
    [
      "chunked body over the limit",
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n",
      413,
      /body too large/,
    ],
    [
      "header over the limit",
      `POST / HTTP/1.1\r\nX: ${"a".repeat(600)}\r\n\r\n`,
      413,
      /header block too large/,
    ],
    ["unterminated header over the limit", `POST / HTTP/1.1\r\nX: ${"a".repeat(600)}`, 413, /header block/],
  ];
  for (const [name, input, code, detail] of bad) {
    test(`rejects ${name} with ${code}, once, and ignores later input`, () => {
      const r = parse("request", [input, exampleA], { maxHeaderBytes: 512, maxBodyBytes: 1000 });
      assert.equal(r.errors.length, 1);
      assert.equal(r.errors[0]?.code, code);
      assert.match(r.errors[0]?.detail ?? "", detail);
      assert.equal(r.messages.length, 0);
    });
  }

  test("rejects a malformed status line", () => {
    const r = parse("response", ["HTTP/1.1 OK\r\n\r\n"]);
    assert.equal(r.errors[0]?.code, 400);
  });
});
