import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { create, createRegistry } from "@bufbuild/protobuf";
import {
  type Client,
  createClient,
  createMemoryBroker,
  createMemoryRegistry,
  createMemoryTransport,
  createServer,
  MicroError,
  type Registry,
  type Server,
  silentLogger,
} from "@microts/core";
import {
  type ChatMessage,
  type CountRequest,
  Greeter,
  type HelloRequest,
  HelloRequestSchema,
  HelloResponseSchema,
  type SumRequest,
} from "./gen/greeter_pb.js";
import { createGrpcCodecs } from "./grpc-codec.js";
import { protoClient } from "./proto-client.js";
import { protoHandler } from "./proto-handler.js";
import type { ProtoServiceImpl } from "./proto-service-types.js";
import { createProtobufCodec } from "./protobuf-codec.js";
import { createProtoJsonCodec } from "./protojson-codec.js";
import { unhex } from "./test-util.js";

const impl: ProtoServiceImpl<typeof Greeter> = {
  async hello(req: HelloRequest) {
    if (req.name === "nobody") throw MicroError.notFound("greeter", "no such user");
    return { message: `Hello ${req.name}` };
  },
  async *count(req: CountRequest) {
    for (let i = 0n; i < req.count; i++) yield { count: i };
  },
  async *chat(input: AsyncIterable<ChatMessage>) {
    for await (const m of input) yield { user: "bot", text: m.text.toUpperCase() };
  },
  async sum(input: AsyncIterable<SumRequest>) {
    let total = 0n;
    for await (const m of input) total += m.value;
    return { total };
  },
};

const codecs = () => [createProtobufCodec(), createProtoJsonCodec(), ...createGrpcCodecs()];

describe("proto services over the memory transport", { timeout: 20_000 }, () => {
  let registry: Registry;
  let server: Server;
  let client: Client;

  before(async () => {
    registry = createMemoryRegistry();
    const transport = createMemoryTransport();
    server = createServer({ name: "greeter", registry, transport, logger: silentLogger, codecs: codecs() });
    server.handle(protoHandler(Greeter, impl));
    await server.start();
    client = createClient({ registry, transport, codecs: codecs() });
  });
  after(async () => {
    await client.close();
    await server.stop();
  });

  test("unary call with application/protobuf returns a message", async () => {
    const greeter = protoClient(client, "greeter", Greeter);
    const rsp = await greeter.hello({ name: "Alice" });
    assert.deepEqual(rsp, create(HelloResponseSchema, { message: "Hello Alice" }));
  });

  test("a request message (not an init object) works too", async () => {
    const greeter = protoClient(client, "greeter", Greeter);
    const rsp = await greeter.hello(create(HelloRequestSchema, { name: "Bob" }));
    assert.equal(rsp.message, "Hello Bob");
  });

  test("server stream yields every response, then ends", async () => {
    const greeter = protoClient(client, "greeter", Greeter);
    const counts: bigint[] = [];
    for await (const r of greeter.count({ count: 3n })) counts.push(r.count);
    assert.deepEqual(counts, [0n, 1n, 2n]);
  });

  test("bidi stream echoes each message", async () => {
    const greeter = protoClient(client, "greeter", Greeter);
    const stream = greeter.chat();
    await stream.send({ user: "u", text: "hi" });
    await stream.send({ user: "u", text: "there" });
    await stream.closeSend();
    const texts: string[] = [];
    for await (const m of stream) texts.push(m.text);
    assert.deepEqual(texts, ["HI", "THERE"]);
  });

  test("client stream sums and answers once", async () => {
    const greeter = protoClient(client, "greeter", Greeter);
    const stream = greeter.sum();
    for (const value of [1n, 2n, 39n]) await stream.send({ value });
    const rsp = await stream.response();
    assert.equal(rsp.total, 42n);
  });

  test("protojson: the typed client with application/json", async () => {
    const greeter = protoClient(client, "greeter", Greeter, { contentType: "application/json" });
    assert.equal((await greeter.hello({ name: "Jay" })).message, "Hello Jay");
    const counts: bigint[] = [];
    for await (const r of greeter.count({ count: 2n })) counts.push(r.count);
    assert.deepEqual(counts, [0n, 1n]);
  });

  test("protojson: a schema-less JSON caller (like a Go or curl client) is answered in protojson", async () => {
    const rsp = await client.call(
      "greeter",
      "Greeter.Hello",
      { name: "Go" },
      { contentType: "application/json" },
    );
    assert.deepEqual(rsp, { message: "Hello Go" });
    // protojson on the server rejects unknown fields, as Go's does.
    await assert.rejects(
      client.call("greeter", "Greeter.Hello", { name: "Go", extra: 1 }, { contentType: "application/json" }),
      { code: 400 },
    );
  });

  test("gRPC-framed bodies over the RPC protocol", async () => {
    for (const contentType of ["application/grpc", "application/grpc+proto", "application/grpc+json"]) {
      const greeter = protoClient(client, "greeter", Greeter, { contentType });
      assert.equal((await greeter.hello({ name: contentType })).message, `Hello ${contentType}`);
    }
  });

  test("the handler's MicroError keeps id, code and detail", async () => {
    const greeter = protoClient(client, "greeter", Greeter);
    await assert.rejects(greeter.hello({ name: "nobody" }), (err: unknown) => {
      assert.ok(err instanceof MicroError);
      assert.equal(err.code, 404);
      assert.equal(err.id, "greeter");
      assert.equal(err.detail, "no such user");
      return true;
    });
  });

  test("malformed protobuf bytes are a 400 and the server keeps serving", async () => {
    await assert.rejects(
      client.call("greeter", "Greeter.Hello", unhex("0a05416c"), { contentType: "application/protobuf" }),
      (err: unknown) =>
        err instanceof MicroError && err.code === 400 && /greeter\.HelloRequest/.test(err.detail),
    );
    const greeter = protoClient(client, "greeter", Greeter);
    assert.equal((await greeter.hello({ name: "again" })).message, "Hello again");
  });

  test("raw protobuf bytes call (reference §3.7 C bytes) without schemas on the client", async () => {
    const rsp = await client.call<Uint8Array>("greeter", "Greeter.Hello", unhex("0a05416c696365"), {
      contentType: "application/protobuf",
    });
    assert.equal(Buffer.from(rsp).toString("hex"), "0a0b48656c6c6f20416c696365");
  });

  test("the registry describes the endpoints as Go Micro does", async () => {
    const [svc] = await registry.getService("greeter");
    assert.ok(svc);
    const byName = new Map(svc.endpoints.map((e) => [e.name, e]));
    assert.deepEqual([...byName.keys()].sort(), [
      "Greeter.Chat",
      "Greeter.Count",
      "Greeter.Hello",
      "Greeter.Sum",
    ]);
    assert.deepEqual(byName.get("Greeter.Hello"), {
      name: "Greeter.Hello",
      request: { name: "HelloRequest", type: "HelloRequest", values: [{ name: "name", type: "string" }] },
      response: {
        name: "HelloResponse",
        type: "HelloResponse",
        values: [{ name: "message", type: "string" }],
      },
      metadata: {},
    });
    const count = byName.get("Greeter.Count");
    assert.deepEqual(count?.request, { name: "Context", type: "Context" });
    assert.deepEqual(count?.response, { name: "Stream", type: "Stream" });
    assert.equal(count?.metadata.stream, "true");
  });
});

test("events: a subscriber with payloadType gets messages published as protobuf", {
  timeout: 10_000,
}, async () => {
  const registry = createMemoryRegistry();
  const transport = createMemoryTransport();
  const broker = createMemoryBroker();
  const server = createServer({
    name: "events",
    registry,
    transport,
    broker,
    logger: silentLogger,
    codecs: codecs(),
  });
  const got: HelloRequest[] = [];
  let resolve = () => {};
  const arrived = new Promise<void>((r) => {
    resolve = r;
  });
  server.subscribe<HelloRequest>(
    "greetings",
    (payload) => {
      got.push(payload);
      resolve();
    },
    { payloadType: HelloRequestSchema },
  );
  await server.start();
  const client = createClient({
    registry,
    transport,
    broker,
    codecs: [createProtobufCodec({ registry: createRegistry(HelloRequestSchema) })],
  });
  try {
    await client.publish("greetings", create(HelloRequestSchema, { name: "Ev" }), {
      contentType: "application/protobuf",
    });
    await arrived;
    assert.deepEqual(got, [create(HelloRequestSchema, { name: "Ev" })]);
  } finally {
    await client.close();
    await server.stop();
  }
});

describe("protoHandler", () => {
  test("names, kinds and schemas come from the descriptor", () => {
    const h = protoHandler(Greeter, impl);
    assert.equal(h.name, "Greeter");
    const kinds = Object.fromEntries([...h.methods].map(([k, m]) => [k, [m.endpoint, m.method, m.kind]]));
    assert.deepEqual(kinds, {
      Hello: ["Greeter.Hello", "hello", "unary"],
      Count: ["Greeter.Count", "count", "server"],
      Chat: ["Greeter.Chat", "chat", "bidi"],
      Sum: ["Greeter.Sum", "sum", "client"],
    });
    assert.equal(h.methods.get("Hello")?.spec.requestType, Greeter.method.hello.input);
    assert.equal(h.methods.get("Hello")?.spec.responseType, Greeter.method.hello.output);
  });

  test("options: name, metadata, describeStreams", () => {
    const h = protoHandler(Greeter, impl, {
      name: "Other",
      metadata: { Hello: { description: "greets" } },
      describeStreams: true,
    });
    const eps = new Map(h.endpoints().map((e) => [e.name, e]));
    assert.equal(eps.get("Other.Hello")?.metadata.description, "greets");
    assert.equal(eps.get("Other.Count")?.request?.type, "CountRequest");
  });

  test("a missing implementation is a TypeError naming the RPC", () => {
    const partial = { ...impl, sum: undefined } as unknown as ProtoServiceImpl<typeof Greeter>;
    assert.throws(() => protoHandler(Greeter, partial), /sum \(rpc Sum\)/);
  });

  test("implementation methods run with `this` bound", async () => {
    class Impl {
      prefix = "Hi";
      async hello(req: HelloRequest) {
        return { message: `${this.prefix} ${req.name}` };
      }
      async *count() {}
      async *chat() {}
      async sum() {
        return {};
      }
    }
    const h = protoHandler(Greeter, new Impl());
    const out = await h.methods.get("Hello")?.fn(create(HelloRequestSchema, { name: "x" }), {} as never);
    assert.deepEqual(out, { message: "Hi x" });
  });
});

test("types: the typed client and implementation are checked by the compiler", () => {
  // Never called: the assertions are the @ts-expect-error lines, checked by `tsc -b`.
  const check = (c: Client) => {
    const greeter = protoClient(c, "greeter", Greeter);
    // @ts-expect-error unknown request field
    void greeter.hello({ nome: "x" });
    // @ts-expect-error a bidi stream takes options, not a request
    void greeter.chat({ user: "x", text: "y" });
    const _message: Promise<string> = greeter.hello({ name: "x" }).then((r) => r.message);
    const _bad: ProtoServiceImpl<typeof Greeter> = {
      ...impl,
      // @ts-expect-error the response must be a HelloResponse shape
      hello: async () => ({ msg: "wrong field" }),
    };
    return [_message, _bad];
  };
  assert.equal(typeof check, "function");
});
