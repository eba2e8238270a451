import type { Config } from "./args.js";
import { type MemoryRow, type Row, rawLimit, type TargetResult } from "./results.js";
import { pubsubScenario, unaryScenario } from "./runner.js";
import { RAW_RPC, STACKS } from "./stacks.js";
import type { Spread } from "./stats.js";

/** The payload size the targets are judged at. */
export const HEADLINE_BYTES = 1024;

/** micro-ts RPC stacks that cross a process boundary (the in-process memory stack is left out). */
const NETWORKED_MICROTS = STACKS.filter((s) => s.family === "micro-ts" && s.role === "rpc" && s.server).map(
  (s) => s.id,
);

function ok(rows: Row[], scenario: string, stack: string): Row | undefined {
  return rows.find((r) => r.scenario === scenario && r.stack === stack && r.status === "ok");
}

function why(rows: Row[], scenario: string, stack: string): string {
  const r = rows.find((x) => x.scenario === scenario && x.stack === stack);
  return r ? `${stack} ${r.status}${r.reason ? `: ${r.reason}` : ""}` : `${stack} not run`;
}

/**
 * A ratio with two decimals, or three when two would print the target's own bound for a value
 * on the other side of it (0.998 against ≥ 1.0 reads "0.998×", not a "1.00×" that is not met).
 */
const x = (n: number, bound: number): string => {
  const two = n.toFixed(2);
  return `${two === bound.toFixed(2) && n !== bound ? n.toFixed(3) : two}×`;
};

/**
 * `a` / `b` of two measurements, and a note when the target's `bound` lies between the lowest and
 * highest ratio any round of `a` and any round of `b` give: this run cannot tell on which side of
 * its line the result lies, and the verdict may flip in the next run.
 */
function ratioOf(a: Spread, b: Spread, bound: number): { v: number; note: string } {
  const v = a.median / b.median;
  const lo = a.min / b.max;
  const hi = a.max / b.min;
  const note =
    lo < bound && bound < hi ? `; within the rounds' spread, ${lo.toFixed(2)}–${hi.toFixed(2)}×` : "";
  return { v, note };
}

/** A throughput ratio target: `a` / `b` ≥ `min`. */
function ratio(
  rows: Row[],
  target: string,
  scenario: string,
  a: string,
  b: string,
  min: number,
): TargetResult {
  const ra = ok(rows, scenario, a);
  const rb = ok(rows, scenario, b);
  if (!ra?.rate || !rb?.rate) {
    return { target, status: "unavailable", value: !ra ? why(rows, scenario, a) : why(rows, scenario, b) };
  }
  const { v, note } = ratioOf(ra.rate, rb.rate, min);
  return { target, status: v >= min ? "met" : "not met", value: `${x(v, min)} (${a} / ${b}${note})` };
}

/** Evaluates the issue's targets on one run's rows. */
export function evaluateTargets(rows: Row[], memory: MemoryRow[], _cfg: Config): TargetResult[] {
  const out: TargetResult[] = [];
  const c64 = unaryScenario(64, HEADLINE_BYTES);
  const c1 = unaryScenario(1, HEADLINE_BYTES);

  // 1. Fastest networked micro-ts transport vs the raw TCP limit.
  const best64 = NETWORKED_MICROTS.map((s) => ok(rows, c64, s))
    .filter((r): r is Row => r?.rate !== undefined)
    .sort((a, b) => (b.rate?.median ?? 0) - (a.rate?.median ?? 0))[0];
  const raw64 = rawLimit(rows, c64, RAW_RPC);
  const t1 = `fastest micro-ts transport, ${c64}: ≥ 0.5× raw TCP req/s`;
  if (!best64?.rate || !raw64?.rate) {
    out.push({
      target: t1,
      status: "unavailable",
      value: !raw64 ? why(rows, c64, "raw-tcp") : "no micro-ts result",
    });
  } else {
    const { v, note } = ratioOf(best64.rate, raw64.rate, 0.5);
    out.push({
      target: t1,
      status: v >= 0.5 ? "met" : "not met",
      value: `${x(v, 0.5)} (${best64.stack} / ${raw64.stack}${note})`,
    });
  }
  const best1 = NETWORKED_MICROTS.map((s) => ok(rows, c1, s))
    .filter((r): r is Row => r?.p50Us !== undefined)
    .sort((a, b) => (a.p50Us?.median ?? 0) - (b.p50Us?.median ?? 0))[0];
  const raw1 = rawLimit(rows, c1, RAW_RPC, "p50");
  const t2 = `fastest micro-ts transport, ${c1}: p50 ≤ 1.3× raw TCP p50`;
  if (!best1?.p50Us || !raw1?.p50Us) {
    out.push({
      target: t2,
      status: "unavailable",
      value: !raw1 ? why(rows, c1, "raw-tcp") : "no micro-ts result",
    });
  } else {
    const { v, note } = ratioOf(best1.p50Us, raw1.p50Us, 1.3);
    out.push({
      target: t2,
      status: v <= 1.3 ? "met" : "not met",
      value: `${x(v, 1.3)} (${best1.stack} ${best1.p50Us.median.toFixed(0)} µs / ${raw1.stack} ${raw1.p50Us.median.toFixed(0)} µs${note})`,
    });
  }
  out.push(
    ratio(rows, `default HTTP stack, ${c64}: ≥ 1.0× Moleculer TCP`, c64, "micro-ts-http", "moleculer-tcp", 1),
  );
  out.push(
    ratio(
      rows,
      `default HTTP stack, ${c64}: ≥ 1.0× Go Micro default stack`,
      c64,
      "micro-ts-http",
      "go-micro-http",
      1,
    ),
  );
  out.push(
    ratio(
      rows,
      `NATS transport, ${c64}: ≥ 1.0× Moleculer over NATS`,
      c64,
      "micro-ts-nats",
      "moleculer-nats",
      1,
    ),
  );
  const ps = pubsubScenario(1);
  out.push(
    ratio(rows, `NATS broker, ${ps}: ≥ 0.7× raw nats.js`, ps, "micro-ts-nats-broker", "raw-nats", 0.7),
  );
  out.push(
    ratio(
      rows,
      `NATS broker, ${ps}: ≥ 2× Moleculer events over NATS`,
      ps,
      "micro-ts-nats-broker",
      "moleculer-nats-events",
      2,
    ),
  );
  const idle = memory.find((m) => m.stack === "micro-ts greeter (idle)");
  const t8 = "idle greeter service: < 60 MB resident";
  if (idle?.status !== "ok" || idle.rssMiB === undefined) {
    out.push({ target: t8, status: "unavailable", value: idle?.reason ?? "not run" });
  } else {
    const mb = (idle.rssMiB * 2 ** 20) / 1e6;
    out.push({
      target: t8,
      status: mb < 60 ? "met" : "not met",
      value: `${mb.toFixed(1)} MB (${idle.rssMiB.toFixed(1)} MiB)`,
    });
  }
  return out;
}
