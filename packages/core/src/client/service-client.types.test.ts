// The typed proxy: `tsc -b` (part of `npm test`) fails if any `@ts-expect-error` line below stops
// being an error; the test runs the calls tsc accepts, with the types it inferred.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Context } from "../context/context.js";
import { silentLogger } from "../logger/logger.js";
import { createMemoryRegistry } from "../registry/memory-registry.js";
import { createServer } from "../server/rpc-server.js";
import { createMemoryTransport } from "../transport/memory-transport.js";
import type { Client, ClientStream } from "./client.js";
import { createClient } from "./rpc-client.js";

class Greeter {
  async hello(req: { name: string }, _ctx: Context): Promise<{ msg: string }> {
    return { msg: req.name };
  }
  async *count(req: { n: number }, _ctx: Context) {
    yield { i: req.n };
  }
  async *chat(input: AsyncIterable<{ text: string }>, _ctx: Context) {
    for await (const m of input) yield { reply: m.text };
  }
}

// Never called: only type-checked (the calls below are wrong on purpose).
async function typeErrors(client: Client): Promise<void> {
  const greeter = client.service<Greeter>("greeter", "Greeter");
  // @ts-expect-error a misspelt field is a compile error
  await greeter.hello({ nam: "x" });
  // @ts-expect-error a wrong type is a compile error
  await greeter.hello({ name: 1 });
  // @ts-expect-error so is a method the handler does not have
  await greeter.goodbye({ name: "x" });
  for await (const m of greeter.count({ n: 3 })) {
    // @ts-expect-error stream items are typed
    const s: string = m.i;
    void s;
  }
  // @ts-expect-error sent messages are typed
  await greeter.chat().send({ txt: "hi" });
}
void typeErrors;

test("the calls tsc accepts work at run time, with the types tsc inferred", async () => {
  const stack = {
    registry: createMemoryRegistry(),
    transport: createMemoryTransport(),
    logger: silentLogger,
  };
  const server = createServer({ name: "greeter", ...stack });
  server.handle(new Greeter(), { streams: { chat: "bidi" } });
  await server.start();
  const client = createClient(stack);
  try {
    const greeter = client.service<Greeter>("greeter", "Greeter");
    const rsp: { msg: string } = await greeter.hello({ name: "Ada" });
    assert.equal(rsp.msg, "Ada");
    const stream: ClientStream<{ n: number }, { i: number }> = greeter.count({ n: 3 });
    const items: number[] = [];
    for await (const m of stream) items.push(m.i);
    assert.deepEqual(items, [3]);
    const chat = greeter.chat();
    await chat.send({ text: "hi" });
    assert.deepEqual(await chat.recv(), { reply: "hi" });
    await chat.close();
  } finally {
    await client.close();
    await server.stop();
  }
});
