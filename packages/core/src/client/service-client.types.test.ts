// Compile-time checks of the typed proxy: `tsc -b` (part of `npm test`) fails if any
// `@ts-expect-error` line below stops being an error, or if a valid line stops compiling.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Context } from "../context/context.js";
import type { Client, ClientStream } from "./client.js";

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

// Never called: only type-checked.
async function typeChecks(client: Client): Promise<void> {
  const greeter = client.service<Greeter>("greeter", "Greeter");
  const rsp: { msg: string } = await greeter.hello({ name: "Ada" });
  // @ts-expect-error a misspelt field is a compile error
  await greeter.hello({ nam: "x" });
  // @ts-expect-error a wrong type is a compile error
  await greeter.hello({ name: 1 });
  // @ts-expect-error so is a method the handler does not have
  await greeter.goodbye({ name: "x" });
  const stream: ClientStream<{ n: number }, { i: number }> = greeter.count({ n: 3 });
  for await (const m of stream) {
    const i: number = m.i;
    // @ts-expect-error stream items are typed
    const s: string = m.i;
    void i;
    void s;
  }
  const chat = greeter.chat();
  await chat.send({ text: "hi" });
  // @ts-expect-error sent messages are typed
  await chat.send({ txt: "hi" });
  void rsp;
}

test("typed proxy type checks compile (see tsc -b)", () => {
  assert.equal(typeof typeChecks, "function");
});
