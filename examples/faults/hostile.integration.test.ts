import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { createMemoryRegistry } from "@microts/core";
import type { StatsResponse } from "./greeter-node.js";
import { countingClient, type Load, report, startLoad } from "./load.js";
import { type GreeterNode, startNode, uniqueName } from "./nodes.js";

// Hostile input against a micro-ts server process (HTTP transport, limits lowered for the test:
// 1 KiB of headers, 4 KiB of body, 300 ms to deliver a header). Each hostile connection is
// answered with an HTTP error and closed, the server logs why, a well-behaved client calling all
// along sees every call succeed, and thousands of garbage connections leave memory bounded.
const LIMITS = {
  FAULT_MAX_HEADER_BYTES: "1024",
  FAULT_MAX_BODY_BYTES: "4096",
  FAULT_HEADER_TIMEOUT_MS: "300",
};

interface Raw {
  /** Everything the server sent. */
  text(): string;
  /** Resolves true when the server closed the connection within `ms`. */
  closedWithin(ms: number): Promise<boolean>;
  write(data: string | Buffer): void;
  end(): void;
  destroy(): void;
}

async function raw(address: string): Promise<Raw> {
  const i = address.lastIndexOf(":");
  const sock = connect({ host: address.slice(0, i), port: Number(address.slice(i + 1)) });
  const chunks: Buffer[] = [];
  sock.on("data", (c: Buffer) => chunks.push(c));
  sock.on("error", () => {});
  const closed = new Promise<void>((resolve) => sock.on("close", () => resolve()));
  await new Promise<void>((resolve, reject) => {
    sock.once("connect", resolve);
    sock.once("error", reject);
  });
  return {
    text: () => Buffer.concat(chunks).toString("latin1"),
    closedWithin: (ms) =>
      Promise.race([
        closed.then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), ms).unref()),
      ]),
    write: (d) => void sock.write(d),
    end: () => void sock.end(),
    destroy: () => sock.destroy(),
  };
}

/** A well-formed Go Micro request (one HTTP POST). */
function request(endpoint: string, body: string | Buffer, extra: Record<string, string> = {}): Buffer {
  const b = typeof body === "string" ? Buffer.from(body) : body;
  const header = {
    Host: "x",
    "Content-Type": "application/json",
    "Micro-Id": "7",
    "Micro-Service": "faulty-greeter",
    "Micro-Endpoint": endpoint,
    "Micro-Method": endpoint,
    "Content-Length": String(b.length),
    ...extra,
  };
  const head = Object.entries(header)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join("");
  return Buffer.concat([Buffer.from(`POST / HTTP/1.1\r\n${head}\r\n`), b]);
}

describe("hostile input against a server process", { timeout: 90_000 }, () => {
  let node: GreeterNode;
  let dir: string;
  let writeLog: string;
  const registry = createMemoryRegistry();
  const { client, log } = countingClient({ registry });
  let load: Load;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "microts-faults-"));
    writeLog = join(dir, "writes.log");
    node = await startNode({
      env: {
        ...LIMITS,
        FAULT_SERVICE: uniqueName("hostile"),
        FAULT_WRITE_LOG: writeLog,
        MICRO_LOG_LEVEL: "debug",
      },
      nodeArgs: ["--expose-gc"],
    });
    // The well-behaved client, calling during every hostile test below.
    load = startLoad({
      client,
      log,
      service: "faulty-greeter",
      endpoint: "Greeter.Read",
      concurrency: 4,
      pauseMs: 5,
      maxMs: 60_000,
      callOptions: { address: node.address, retries: 0 },
    });
    await load.completed(20);
  });

  after(async () => {
    const r = await load.stop();
    report("hostile / well-behaved client", r);
    await client.close();
    await node.stop();
    rmSync(dir, { recursive: true, force: true });
    assert.equal(r.failed, 0, `the well-behaved client saw failures: ${JSON.stringify(r.failures)}`);
    assert.ok(r.made > 100, "the well-behaved client kept calling");
  });

  /** Sends `bytes`, expects an HTTP error `status` and the connection closed, and a log line. */
  async function rejected(bytes: Buffer | string, status: number, logLine: RegExp): Promise<void> {
    const c = await raw(node.address);
    c.write(bytes);
    assert.ok(await c.closedWithin(3_000), "the server closed the connection");
    assert.match(c.text(), new RegExp(`^HTTP/1\\.1 ${status} `));
    assert.ok(await logged(logLine), `log line ${logLine} in:\n${node.log().slice(-2000)}`);
  }

  async function logged(re: RegExp): Promise<boolean> {
    for (let i = 0; i < 40; i++) {
      if (re.test(node.log())) return true;
      await new Promise((r) => setTimeout(r, 50));
    }
    return false;
  }

  test("garbage bytes: 400, closed, logged", async () => {
    await rejected(
      Buffer.concat([randomBytes(300).map((b) => (b === 10 || b === 13 ? 0 : b)), Buffer.from("\r\n\r\n")]),
      400,
      /WARN.*closing connection from .*: malformed request line/,
    );
  });

  test("oversize header block: 413, closed, logged", async () => {
    await rejected(
      request("Greeter.Read", "{}", { "X-Big": "a".repeat(2000) }),
      413,
      /WARN.*closing connection from .*: header block too large: limit 1024 bytes/,
    );
  });

  test("oversize body: 413 as soon as the length is announced, closed, logged", async () => {
    await rejected(
      request("Greeter.Write", "x".repeat(10_000)),
      413,
      /WARN.*closing connection from .*: body too large \(10000 bytes\): limit 4096 bytes/,
    );
  });

  test("slow-loris (partial header, then silence): 408 after headerTimeoutMs, closed, logged", async () => {
    const c = await raw(node.address);
    const t0 = Date.now();
    c.write("POST / HTTP/1.1\r\nHost: x\r\nMicro-Endpoint: Greeter.Re");
    assert.ok(await c.closedWithin(3_000), "the server closed the stalled connection");
    const ms = Date.now() - t0;
    assert.ok(ms >= 250 && ms < 1_500, `closed after ${ms} ms`);
    assert.match(c.text(), /^HTTP\/1\.1 408 /);
    assert.ok(
      await logged(/WARN.*closing connection from .*: timed out after 300ms reading a request header/),
    );
  });

  test("truncated request (the peer half-closes mid-body): closed, logged, the handler never ran", async () => {
    const full = request("Greeter.Write", JSON.stringify({ id: "truncated-1", pad: "p".repeat(200) }));
    const c = await raw(node.address);
    c.write(full.subarray(0, full.length - 50));
    c.end();
    assert.ok(await c.closedWithin(3_000), "the server closed the connection");
    assert.ok(await logged(/connection from .* failed.*in the middle of a message/));
    const executed = existsSync(writeLog) ? readFileSync(writeLog, "utf8") : "";
    assert.doesNotMatch(executed, /truncated-1/);
  });

  test("malformed JSON body: answered with a 400 error, the connection keeps working", async () => {
    const c = await raw(node.address);
    c.write(request("Greeter.Read", '{"id": "bad-json", '));
    c.write(request("Greeter.Read", '{"id":"good-json"}'));
    for (let i = 0; i < 40 && !c.text().includes("good-json"); i++)
      await new Promise((r) => setTimeout(r, 50));
    const text = c.text();
    c.destroy();
    assert.match(
      text,
      /Micro-Error: \{"id":"go\.micro\.server","code":400,"detail":"rpc: router cannot decode/,
    );
    assert.match(text, /good-json/, "the next request on the same connection was served");
  });

  test("2 000 hostile connections: memory stays bounded, the server stays healthy", async () => {
    const stats = () =>
      client.call<StatsResponse>(
        "faulty-greeter",
        "Greeter.Stats",
        { id: "stats" },
        { address: node.address, retries: 0 },
      );
    const before = await stats();
    const payloads: Array<string | Buffer> = [
      randomBytes(2048),
      `POST / HTTP/1.1\r\nX-Big: ${"a".repeat(1500)}`,
      "POST / HTTP/1.1\r\nContent-Length: 999999\r\n\r\n",
      request("Greeter.Read", "{nope"),
      "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
    ];
    const total = 2_000;
    let next = 0;
    let closedByServer = 0;
    const worker = async () => {
      while (next < total) {
        const i = next++;
        const c = await raw(node.address);
        c.write(payloads[i % payloads.length] as string | Buffer);
        // The malformed-JSON request is answered but (correctly) not closed: close it ourselves.
        if (i % payloads.length === 3) {
          for (let k = 0; k < 40 && !c.text().includes("Micro-Error"); k++) {
            await new Promise((r) => setTimeout(r, 10));
          }
          c.destroy();
        } else if (await c.closedWithin(3_000)) closedByServer++;
        else c.destroy();
      }
    };
    await Promise.all(Array.from({ length: 50 }, () => worker()));
    const afterStats = await stats();
    const growthMb = (afterStats.rss - before.rss) / 1e6;
    console.log(
      `# counts hostile flood: ${JSON.stringify({
        connections: total,
        closedByServer,
        rssBeforeMb: Math.round(before.rss / 1e6),
        rssAfterMb: Math.round(afterStats.rss / 1e6),
        heapAfterMb: Math.round(afterStats.heapUsed / 1e6),
        growthMb: Math.round(growthMb * 10) / 10,
      })}`,
    );
    assert.equal(closedByServer, total * 0.8, "every connection with bad framing was closed by the server");
    assert.ok(growthMb < 50, `RSS grew ${growthMb} MB`);
  });
});
