#!/usr/bin/env node
// The whole test suite: type check, lint, then every *.test.ts under packages/, examples/ and bench/.
//   node scripts/test.mjs             everything (unit and integration)
//   node scripts/test.mjs --unit      skip *.integration.test.ts
//   node scripts/test.mjs <substr>..  only test files whose path contains one of the substrings
// Packages needing local servers or tools provide an idempotent `test-setup.sh`, run first.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const args = process.argv.slice(2);
const unitOnly = args.includes("--unit");
const filters = args.filter((a) => !a.startsWith("--"));

function run(cmd, cmdArgs, what) {
  console.log(`\n== ${what}`);
  const r = spawnSync(cmd, cmdArgs, { cwd: root, stdio: "inherit", env: process.env });
  if (r.status !== 0) {
    console.error(`\n${what} failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status || 1);
  }
}

function walk(dir, out = []) {
  for (const name of readdirSync(dir)) {
    if (name === "node_modules" || name === "dist" || name.startsWith(".")) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith(".test.ts")) out.push(p);
  }
  return out;
}

if (filters.length === 0) {
  run("npx", ["tsc", "-b"], "type check (tsc -b)");
  run("npx", ["biome", "check", "."], "lint and format (biome check)");
}

const pkgs = ["packages", "examples"].flatMap((d) =>
  existsSync(join(root, d)) ? readdirSync(join(root, d)).map((n) => join(root, d, n)) : [],
);
// The benchmark suite's smoke test (every stack starts and answers; no timing asserted).
pkgs.push(join(root, "bench"));
if (!unitOnly) {
  for (const p of pkgs) {
    const setup = join(p, "test-setup.sh");
    if (existsSync(setup)) run("bash", [setup], `setup ${relative(root, p)}`);
  }
}

let files = pkgs
  .flatMap((p) => walk(p))
  .map((f) => relative(root, f))
  .sort();
if (unitOnly) files = files.filter((f) => !f.endsWith(".integration.test.ts"));
if (filters.length > 0) files = files.filter((f) => filters.some((s) => f.includes(s)));
if (files.length === 0) {
  console.error("no test files matched");
  process.exit(1);
}
run(
  process.execPath,
  [
    "--conditions=@microts/source",
    "--import",
    "tsx",
    "--test",
    "--test-concurrency=2",
    "--test-timeout=120000",
    ...files,
  ],
  `tests (${files.length} files)`,
);
