// The micro-ts benchmark suite: `npm run bench -- [--quick | --full | --smoke] [--only <s>]`.
// See README.md for what is measured and how to read the results.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Config, parseConfig } from "./lib/args.js";
import { toSvg } from "./lib/chart.js";
import { runIdleGreeter } from "./lib/idle.js";
import { platformInfo } from "./lib/platform.js";
import { BENCH_DIR, profileChildren } from "./lib/proc.js";
import { toMarkdown } from "./lib/report.js";
import type { MemoryRow, Report, Row } from "./lib/results.js";
import { log, runPubsub, runRegistry, runRpcStacks } from "./lib/runner.js";
import { formatSmoke, type SmokeLine, smokeExtras, smokeStack } from "./lib/smoke.js";
import { STACKS, type StackDef } from "./lib/stacks.js";
import { evaluateTargets } from "./lib/targets.js";
import { REGISTRY_CASES } from "./stacks/registry/cases.js";

function selected(cfg: Config, name: string): boolean {
  return cfg.only.length === 0 || cfg.only.some((s) => name.includes(s));
}

/**
 * Whether a stack runs: those `--only` names, or else every stack (in quick mode, all but those
 * marked `fullOnly`; smoke mode starts them all).
 */
function stackSelected(cfg: Config, s: StackDef): boolean {
  if (cfg.only.length === 0) return !(s.fullOnly && cfg.mode === "quick");
  return selected(cfg, `${s.id} ${s.role}`);
}

/** Smoke mode: every stack once, three at a time; exit 1 if any available stack failed. */
async function smoke(cfg: Config): Promise<number> {
  const started = Date.now();
  const queue = STACKS.filter((s) => stackSelected(cfg, s));
  const lines: SmokeLine[] = [];
  const worker = async (): Promise<void> => {
    for (let s = queue.shift(); s; s = queue.shift()) {
      const line = await smokeStack(s);
      lines.push(line);
      console.log(formatSmoke(line));
    }
  };
  await Promise.all([worker(), worker(), worker()]);
  for (const line of await smokeExtras(cfg, REGISTRY_CASES, {
    registry: selected(cfg, "registry"),
    memory: selected(cfg, "memory idle-greeter"),
  })) {
    lines.push(line);
    console.log(formatSmoke(line));
  }
  const failed = lines.filter((l) => l.status === "FAILED").length;
  const ok = lines.filter((l) => l.status === "ok").length;
  console.log(
    `smoke: ${ok} ok, ${lines.length - ok - failed} unavailable, ${failed} failed in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  return failed > 0 ? 1 : 0;
}

async function bench(cfg: Config): Promise<number> {
  const t0 = Date.now();
  const startedAt = new Date().toISOString();
  const platform = platformInfo();
  log(`micro-ts bench, ${cfg.mode} mode: Node ${platform.node}, ${platform.cpu} × ${platform.cores}`);
  const rows: Row[] = [];
  const memory: MemoryRow[] = [];
  const rpc = await runRpcStacks(
    STACKS.filter((x) => x.role === "rpc" && stackSelected(cfg, x)),
    cfg,
  );
  rows.push(...rpc.rows);
  memory.push(...rpc.memory);
  for (const s of STACKS.filter((x) => x.role === "pubsub" && stackSelected(cfg, x))) {
    log(`${s.id}`);
    rows.push(...(await runPubsub(s, cfg)));
  }
  if (selected(cfg, "registry")) {
    log("registry lookup");
    // In-process lookups settle fast: half-length rounds keep the quick mode under 3 minutes.
    const short = { ...cfg, warmupMs: Math.min(cfg.warmupMs, 300), roundMs: Math.ceil(cfg.roundMs / 2) };
    rows.push(...(await runRegistry(short, REGISTRY_CASES)));
  }
  if (selected(cfg, "memory idle-greeter")) memory.unshift(await runIdleGreeter());
  const report: Report = {
    startedAt,
    durationS: (Date.now() - t0) / 1000,
    config: cfg,
    platform,
    rows,
    memory,
    targets: evaluateTargets(rows, memory, cfg),
    notes: Object.fromEntries(STACKS.map((s) => [s.id, s.note ?? ""])),
  };
  const md = toMarkdown(report);
  process.stdout.write(`${md}\n`);
  if (cfg.save) {
    const dir = join(BENCH_DIR, "results");
    mkdirSync(dir, { recursive: true });
    const stamp = startedAt.replace(/[:.]/g, "-");
    const base = join(dir, `${stamp}-${cfg.mode}`);
    writeFileSync(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(`${base}.md`, md);
    writeFileSync(`${base}.svg`, toSvg(report));
    log(`saved ${base}.{json,md,svg}`);
  }
  return 0;
}

const cfg = parseConfig(process.argv.slice(2));
if (cfg.cpuProfDir) profileChildren(cfg.cpuProfDir);
const code = cfg.mode === "smoke" ? await smoke(cfg) : await bench(cfg);
process.exit(code);
