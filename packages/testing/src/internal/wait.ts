import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { MicroError } from "@microts/core";

/** A name no other test (or earlier run against a shared backend) uses: `prefix-<hex>`. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(6).toString("hex")}`;
}

/** Resolves after `ms` milliseconds. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

/** Settles like `promise`, or rejects with a clear message when it takes longer than `ms`. */
export async function within<T>(promise: PromiseLike<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `check` every `intervalMs` until it returns a value other than undefined/false. */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs: number,
  intervalMs = 20,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const cause = lastError instanceof Error ? ` (last error: ${lastError.message})` : "";
      assert.fail(`${what}: not reached within ${timeoutMs} ms${cause}`);
    }
    await delay(intervalMs);
  }
}

/** Asserts that `err` is a MicroError with `code`, returning it. */
export function assertMicroError(err: unknown, code: number | readonly number[], what: string): MicroError {
  const codes = typeof code === "number" ? [code] : code;
  if (!(err instanceof MicroError)) {
    const shown = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    assert.fail(`${what}: expected MicroError ${codes.join("/")}, got ${shown}`);
  }
  assert.ok(
    codes.includes(err.code),
    `${what}: expected code ${codes.join("/")}, got ${err.code} (${err.detail})`,
  );
  return err;
}

/**
 * Awaits `promise`, which must reject within `ms` with a MicroError carrying one of `code`;
 * returns that error.
 */
export async function rejectsWith(
  promise: Promise<unknown>,
  code: number | readonly number[],
  ms: number,
  what: string,
): Promise<MicroError> {
  let settled: { ok: true } | { ok: false; error: unknown };
  try {
    await within(promise, ms, what);
    settled = { ok: true };
  } catch (error) {
    settled = { ok: false, error };
  }
  if (settled.ok) assert.fail(`${what}: resolved, expected a MicroError rejection`);
  if (settled.error instanceof Error && settled.error.message === `${what}: nothing after ${ms} ms`) {
    assert.fail(`${what}: still pending after ${ms} ms, expected a MicroError rejection`);
  }
  return assertMicroError(settled.error, code, what);
}

/** Bytes of a deterministic pseudo-random pattern (fast, reproducible, not UTF-8). */
export function patternBytes(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}
