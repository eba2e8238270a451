import assert from "node:assert/strict";
import { test } from "node:test";
import { Metadata } from "../metadata/metadata.js";
import { type Context, currentContext, propagateContext, runWithContext } from "./context.js";

function ctx(endpoint: string): Context {
  return {
    service: "svc",
    endpoint,
    metadata: new Metadata(),
    deadline: undefined,
    signal: new AbortController().signal,
  };
}

const tick = () => new Promise<void>((r) => setImmediate(r));

// One test, in order: the module's state is the process's.
test("handlers see their context in their synchronous part at first, on their whole path once propagating", async () => {
  // Before anything asked for the context, the handler's own synchronous code sees it.
  const first = ctx("First");
  let seenSync: Context | undefined;
  const pending = runWithContext(first, async () => {
    seenSync = currentContext(); // asking turns propagation on for later handlers
    await tick();
  });
  assert.equal(seenSync, first);
  await pending;
  assert.equal(currentContext(), undefined, "no handler runs now");

  // From then on, a handler's context is there after awaits, and concurrent handlers keep theirs.
  propagateContext();
  const seen = await Promise.all(
    ["A", "B"].map((e) =>
      runWithContext(ctx(e), async () => {
        await tick();
        const after = currentContext()?.endpoint;
        await new Promise((r) => setTimeout(r, e === "A" ? 5 : 0));
        return [after, currentContext()?.endpoint];
      }),
    ),
  );
  assert.deepEqual(seen, [
    ["A", "A"],
    ["B", "B"],
  ]);
  assert.equal(currentContext(), undefined);
});
