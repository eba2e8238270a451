import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/**
 * V8's `gc()`, exposed at run time (no `--expose-gc` needed on the command line). With
 * `{ type: "minor" }` it runs a young-generation collection only.
 */
export function exposeGc(): (options?: { type: "minor" | "major" }) => void {
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as (options?: { type: "minor" | "major" }) => void;
}

/**
 * Two full collections, each once the running job has ended, so that objects only `WeakRef`s
 * point to are gone afterwards (a `WeakRef` keeps its target alive until its job ends).
 */
export async function collectGarbage(): Promise<void> {
  const gc = exposeGc();
  for (let i = 0; i < 2; i++) {
    await new Promise((resolve) => setImmediate(resolve));
    gc();
  }
}
