import assert from "node:assert/strict";
import {
  type Context,
  createClient,
  createMemoryRegistry,
  createServer,
  MicroError,
  type Registry,
  silentLogger,
  type Transport,
} from "@microts/core";
import type { SkipRule, TestScope } from "./internal/suite.js";
import { defineSuite } from "./internal/suite.js";

/** Options for {@link rpcContract}. */
export interface RpcContractOptions {
  /** A new transport; the suite closes it when the test ends. Server and client get one each. */
  create: () => Transport | Promise<Transport>;
  /** Listen address for the server. Default `127.0.0.1:0`. */
  listenAddress?: string;
  /** A new registry, shared by server and client; the suite closes it. Default: a memory registry per test. */
  registry?: () => Registry | Promise<Registry>;
  /** Runs once after the whole suite. Default: nothing. */
  cleanup?: () => unknown;
  /** Tests this transport cannot pass, with the reason. Default none. */
  skip?: SkipRule[];
}

/** The handler every test calls: each method exercises one part of the protocol. */
class Greeter {
  aborted = false;
  async hello(req: { name: string }, ctx: Context) {
    if (!req.name) throw MicroError.notFound("greeter", "no such user: ñ");
    return { msg: `Hello ${req.name}`, user: ctx.metadata.get("x-user") };
  }
  async big(req: { size: number }) {
    return { data: "x".repeat(req.size) };
  }
  async *count(req: { n: number }) {
    for (let i = 0; i < req.n; i++) yield { i };
  }
  async sum(input: AsyncIterable<{ v: number }>) {
    let total = 0;
    for await (const m of input) total += m.v;
    return { total };
  }
  async *echo(input: AsyncIterable<{ s: string }>) {
    for await (const m of input) yield { s: m.s.toUpperCase() };
  }
  async *explode(req: { after: number }) {
    for (let i = 0; i < req.after; i++) yield { i };
    throw MicroError.conflict("greeter", "stream broke");
  }
  async slow(_req: unknown, ctx: Context) {
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 5_000);
      ctx.signal.addEventListener("abort", () => {
        clearTimeout(t);
        resolve();
      });
    });
    this.aborted = ctx.signal.aborted;
    return {};
  }
}

/**
 * The RPC protocol over a transport: unary calls, errors, every kind of stream, deadlines and
 * cancellation, end to end through `createServer` and `createClient`. Every transport must carry
 * it unchanged.
 */
export function rpcContract(name: string, options: RpcContractOptions): void {
  const listen = options.listenAddress ?? "127.0.0.1:0";

  async function setup(scope: TestScope) {
    const registry = options.registry ? await options.registry() : createMemoryRegistry();
    const serverTransport = await options.create();
    const clientTransport = await options.create();
    const greeter = new Greeter();
    const service = `rpc-contract-${Math.random().toString(36).slice(2, 10)}`;
    const server = createServer({
      name: service,
      address: listen,
      registry,
      transport: serverTransport,
      logger: silentLogger,
    });
    server.handle(greeter, { streams: { sum: "client", echo: "bidi" } });
    await server.start();
    const client = createClient({ registry, transport: clientTransport, logger: silentLogger });
    scope.defer(async () => {
      await client.close();
      await server.stop({ timeoutMs: 1_000 });
      await clientTransport.close();
      await serverTransport.close();
      await registry.close();
    });
    return { client, server, greeter, service };
  }

  defineSuite(
    `rpc contract: ${name}`,
    [
      {
        name: "unary call carries the request, the response and metadata",
        async run(scope) {
          const { client, service } = await setup(scope);
          const rsp = await client.call<{ msg: string; user: string }>(
            service,
            "Greeter.Hello",
            { name: "Ada" },
            { metadata: { "X-User": "u1" } },
          );
          assert.deepEqual(rsp, { msg: "Hello Ada", user: "u1" });
        },
      },
      {
        name: "200 concurrent unary calls all succeed",
        timeoutMs: 20_000,
        async run(scope) {
          const { client, service } = await setup(scope);
          const all = await Promise.all(
            Array.from({ length: 200 }, (_, i) =>
              client.call<{ msg: string }>(service, "Greeter.Hello", { name: `n${i}` }),
            ),
          );
          all.forEach((r, i) => {
            assert.equal(r.msg, `Hello n${i}`);
          });
        },
      },
      {
        name: "a 256 KiB response arrives intact",
        async run(scope) {
          const { client, service } = await setup(scope);
          const rsp = await client.call<{ data: string }>(service, "Greeter.Big", { size: 256 * 1024 });
          assert.equal(rsp.data.length, 256 * 1024);
        },
      },
      {
        name: "a handler's MicroError keeps its id, code and UTF-8 detail",
        async run(scope) {
          const { client, service } = await setup(scope);
          await assert.rejects(client.call(service, "Greeter.Hello", { name: "" }), (err: unknown) => {
            assert.ok(err instanceof MicroError);
            assert.deepEqual([err.id, err.code, err.detail], ["greeter", 404, "no such user: ñ"]);
            return true;
          });
        },
      },
      {
        name: "an unknown method is a 404",
        async run(scope) {
          const { client, service } = await setup(scope);
          await assert.rejects(client.call(service, "Greeter.Nope", {}), { code: 404 });
        },
      },
      {
        name: "server stream yields every message, then ends",
        async run(scope) {
          const { client, service } = await setup(scope);
          const got: number[] = [];
          for await (const m of client.stream<{ i: number }>(service, "Greeter.Count", { n: 5 }))
            got.push(m.i);
          assert.deepEqual(got, [0, 1, 2, 3, 4]);
        },
      },
      {
        name: "client stream: many messages, half-close, one response",
        async run(scope) {
          const { client, service } = await setup(scope);
          const s = client.stream<{ total: number }, { v: number }>(service, "Greeter.Sum");
          for (let i = 1; i <= 10; i++) await s.send({ v: i });
          assert.deepEqual(await s.response(), { total: 55 });
        },
      },
      {
        name: "bidirectional stream: replies interleave with requests",
        async run(scope) {
          const { client, service } = await setup(scope);
          const s = client.stream<{ s: string }, { s: string }>(service, "Greeter.Echo");
          const out: string[] = [];
          for (const w of ["a", "b", "c"]) {
            await s.send({ s: w });
            out.push(((await s.recv()) as { s: string }).s);
          }
          await s.closeSend();
          assert.equal(await s.recv(), undefined);
          assert.deepEqual(out, ["A", "B", "C"]);
        },
      },
      {
        name: "an error mid-stream arrives after the messages before it",
        async run(scope) {
          const { client, service } = await setup(scope);
          const got: number[] = [];
          await assert.rejects(
            (async () => {
              for await (const m of client.stream<{ i: number }>(service, "Greeter.Explode", { after: 2 }))
                got.push(m.i);
            })(),
            { code: 409, detail: "stream broke" },
          );
          assert.deepEqual(got, [0, 1]);
        },
      },
      {
        name: "deadline exceeded: 408 promptly, and the handler's signal fires",
        async run(scope) {
          const { client, service, greeter } = await setup(scope);
          const t0 = Date.now();
          await assert.rejects(client.call(service, "Greeter.Slow", {}, { timeoutMs: 200 }), { code: 408 });
          assert.ok(Date.now() - t0 < 1_500, `408 after ${Date.now() - t0} ms`);
          for (let i = 0; i < 100 && !greeter.aborted; i++) await new Promise((r) => setTimeout(r, 20));
          assert.equal(greeter.aborted, true, "the handler's signal did not fire");
        },
      },
      {
        name: "an aborted signal cancels the call with 499",
        async run(scope) {
          const { client, service } = await setup(scope);
          const ac = new AbortController();
          const p = client.call(service, "Greeter.Slow", {}, { signal: ac.signal });
          setTimeout(() => ac.abort(), 50);
          await assert.rejects(p, { code: 499 });
        },
      },
    ],
    options.skip,
    options.cleanup,
  );
}
