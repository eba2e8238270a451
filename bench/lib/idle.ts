import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { BENCH_DIR, Proc } from "./proc.js";
import type { MemoryRow } from "./results.js";
import { errText, log } from "./runner.js";

const ENTRY = join(BENCH_DIR, "stacks/idle-greeter/server.ts");

/**
 * Bundles the idle greeter into one plain JavaScript file with esbuild (which tsx brings along),
 * so it runs on node without the tsx loader and its extra thread: the deployment shape. Resolves
 * with the bundle's path, or undefined when esbuild is not there.
 */
async function bundle(dir: string): Promise<string | undefined> {
  try {
    const esbuild = (await import("esbuild")) as {
      build(o: Record<string, unknown>): Promise<unknown>;
    };
    const outfile = join(dir, "idle-greeter.mjs");
    await esbuild.build({
      entryPoints: [ENTRY],
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      conditions: ["@microts/source"],
      outfile,
      logLevel: "silent",
    });
    return outfile;
  } catch {
    return undefined;
  }
}

/** Resident memory of an idle greeter service (default network stack), 1 s after it started. */
export async function runIdleGreeter(): Promise<MemoryRow> {
  log("  idle greeter: resident memory");
  const dir = mkdtempSync(join(tmpdir(), "microts-bench-"));
  let server: Proc | undefined;
  try {
    const file = await bundle(dir);
    server = file ? new Proc("idle greeter", file, {}, ["--expose-gc"]) : new Proc("idle greeter", ENTRY, {});
    await server.ready(30_000);
    await sleep(1_000);
    const u = await server.usage(true);
    return {
      stack: "micro-ts greeter (idle)",
      what: "idle",
      status: "ok",
      rssMiB: u.rss / 2 ** 20,
      heapMiB: u.heapUsed / 2 ** 20,
      note: file
        ? "createService with HTTP transport + HTTP broker + memory registry, bundled, plain node"
        : "esbuild not found: measured under tsx (higher than a deployed service)",
    };
  } catch (err) {
    return { stack: "micro-ts greeter (idle)", what: "idle", status: "failed", reason: errText(err) };
  } finally {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
