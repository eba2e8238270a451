import assert from "node:assert/strict";
import { test } from "node:test";
import { isMicroError } from "@microts/core";
import { Mailbox } from "./mailbox.js";

test("a timed-out take leaves no stale waiter: the next item goes to the next taker", async () => {
  const m = new Mailbox<number>();
  await assert.rejects(m.take({ timeoutMs: 20 }), (e: unknown) => isMicroError(e, 408));
  await assert.rejects(m.take({ signal: AbortSignal.abort() }), (e: unknown) => isMicroError(e, 499));
  const next = m.take();
  m.push(1);
  assert.deepEqual(await next, { value: 1, done: false });
});

test("several takers are served in order; end drains then reports done; fail rejects after the queue", async () => {
  const m = new Mailbox<number>();
  const a = m.take();
  const b = m.take();
  m.push(1);
  m.push(2);
  assert.equal((await a).value, 1);
  assert.equal((await b).value, 2);
  m.push(3);
  m.end();
  assert.equal(m.push(4), false);
  assert.deepEqual(await m.take(), { value: 3, done: false });
  assert.equal((await m.take()).done, true);
  const f = new Mailbox<number>();
  const waiting = f.take();
  f.fail(new Error("gone"));
  await assert.rejects(waiting, /gone/);
  await assert.rejects(f.take(), /gone/);
});

test("iteration yields queued and later items, then ends on end or on failure without throwing", async () => {
  const m = new Mailbox<number>();
  m.push(1);
  setTimeout(() => {
    m.push(2);
    m.end();
  }, 5);
  const seen: number[] = [];
  for await (const x of m.iterator()) seen.push(x);
  assert.deepEqual(seen, [1, 2]);

  const f = new Mailbox<number>();
  f.push(1);
  setTimeout(() => f.fail(new Error("gone")), 5);
  const got: number[] = [];
  for await (const x of f.iterator()) got.push(x);
  assert.deepEqual(got, [1], "a failure ends the iteration after the queue");
});
