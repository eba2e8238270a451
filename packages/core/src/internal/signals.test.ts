import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import { test } from "node:test";
import { MicroError } from "../errors/micro-error.js";
import { raceDeadline, withDeadline } from "./signals.js";

const ID = "go.micro.test";
const never = () => new Promise<never>(() => {});

/** Both functions promise the same outcomes; each case runs against both. */
const variants = [
  ["raceDeadline", raceDeadline],
  ["withDeadline", withDeadline],
] as const;

for (const [name, run] of variants) {
  test(`${name}: resolves with the operation's value and leaves no listener behind`, async () => {
    const ac = new AbortController();
    assert.equal(await run(ID, "op", { signal: ac.signal, timeoutMs: 60_000 }, undefined, async () => 7), 7);
    assert.equal(getEventListeners(ac.signal, "abort").length, 0);
  });

  test(`${name}: the deadline rejects with 408 without waiting for the operation`, async () => {
    const err = await run(ID, "publish t", { timeoutMs: 20 }, 60_000, never).catch((e: unknown) => e);
    assert.ok(err instanceof MicroError);
    assert.equal(err.code, 408);
    assert.match(err.detail, /^publish t: deadline of 20ms exceeded$/);
  });

  test(`${name}: defaultMs applies when the caller gives no timeout`, async () => {
    const err = await run(ID, "op", undefined, 10, never).catch((e: unknown) => e);
    assert.equal((err as MicroError).code, 408);
  });

  test(`${name}: the caller's abort rejects with 499, or with its own MicroError`, async () => {
    const ac = new AbortController();
    const p = run(ID, "op", { signal: ac.signal }, undefined, never);
    ac.abort();
    assert.equal(((await p.catch((e: unknown) => e)) as MicroError).code, 499);
    const mine = MicroError.serviceUnavailable("svc", "shutting down");
    const ac2 = new AbortController();
    const p2 = run(ID, "op", { signal: ac2.signal }, undefined, never);
    ac2.abort(mine);
    assert.equal(await p2.catch((e: unknown) => e), mine);
  });

  test(`${name}: an already aborted signal rejects before the operation starts`, async () => {
    let started = false;
    const err = await run(ID, "op", { signal: AbortSignal.abort() }, undefined, async () => {
      started = true;
    }).catch((e: unknown) => e);
    assert.equal((err as MicroError).code, 499);
    assert.equal(started, false);
  });

  test(`${name}: failures map through mapError, MicroErrors pass through, sync throws too`, async () => {
    const mapped = await run(ID, "op", undefined, 1_000, () => Promise.reject(new Error("down"))).catch(
      (e: unknown) => e,
    );
    assert.equal((mapped as MicroError).code, 503);
    assert.match((mapped as MicroError).detail, /op: down/);
    const own = MicroError.badRequest("svc", "bad");
    assert.equal(
      await run(ID, "op", undefined, 1_000, () => Promise.reject(own)).catch((e: unknown) => e),
      own,
    );
    const custom = await run(
      ID,
      "op",
      undefined,
      1_000,
      () => {
        throw new Error("sync");
      },
      (e) => MicroError.internalServerError(ID, `mapped: ${(e as Error).message}`),
    ).catch((e: unknown) => e);
    assert.equal((custom as MicroError).code, 500);
    assert.match((custom as MicroError).detail, /mapped: sync/);
  });
}

test("raceDeadline: settling early clears the timer (the process is free to exit)", async () => {
  // A 10-minute timer left behind would keep this test file running until the runner's timeout.
  for (let i = 0; i < 100; i++) await raceDeadline(ID, "op", undefined, 600_000, async () => i);
  await raceDeadline(ID, "op", undefined, 600_000, () => Promise.reject(new Error("x"))).catch(() => {});
});
