import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { type Config, sizeLabel } from "./args.js";
import { BENCH_DIR, Proc } from "./proc.js";
import type { Job, RoundResult, Usage } from "./protocol.js";
import type { MemoryRow, Row } from "./results.js";
import type { StackDef } from "./stacks.js";
import { type Spread, spread } from "./stats.js";

/** Progress lines go to stderr; stdout carries only the Markdown report. */
export function log(line: string): void {
  process.stderr.write(`[${((performance.now() - T0) / 1000).toFixed(1).padStart(5)} s] ${line}\n`);
}
const T0 = performance.now();

/** A started stack: its processes, and where the client should go. */
interface Pair {
  server: Proc | undefined;
  client: Proc;
  address: string;
  info: Record<string, unknown>;
  stop(): Promise<void>;
}

/** Starts a stack's server (if any), then its client, and introduces the client to the server. */
export async function startPair(stack: StackDef, extra: Record<string, unknown> = {}): Promise<Pair> {
  const args = { ...stack.args, ...extra };
  let server: Proc | undefined;
  let client: Proc | undefined;
  const stop = async (): Promise<void> => {
    await client?.stop();
    await server?.stop();
  };
  try {
    let address = "";
    let info: Record<string, unknown> = {};
    if (stack.server) {
      server = new Proc(`${stack.id} server`, join(BENCH_DIR, stack.server), args);
      ({ address, info } = await server.ready(30_000));
    }
    client = new Proc(`${stack.id} client`, join(BENCH_DIR, stack.client), args);
    await client.init(address, info, 30_000);
    return { server, client, address, info, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

interface Measured {
  rate: Spread;
  p50Us: Spread;
  p99Us: Spread;
  cpuClientUs: number;
  cpuServerUs: number | null;
  gcClientUs: number | null;
  gcServerUs: number | null;
  errors: number;
  lost: number;
  firstError: string | undefined;
}

/** What one measured round gives. */
interface Sample {
  rate: number;
  p50Us: number;
  p99Us: number;
  cpuClientUs: number;
  cpuServerUs: number | undefined;
  gcClientUs: number | undefined;
  gcServerUs: number | undefined;
  errors: number;
  lost: number;
  firstError: string | undefined;
}

type RoundRunner = (job: Job) => Promise<{ r: RoundResult; rate: number; perUnit: number; lost: number }>;

/** One measured round of `job`, with the server's CPU read before and after it. */
async function sample(pair: Pair, job: Job, round: RoundRunner): Promise<Sample> {
  const s0: Usage | undefined = pair.server ? await pair.server.usage() : undefined;
  const { r, rate, perUnit, lost } = await round(job);
  const s1: Usage | undefined = pair.server ? await pair.server.usage() : undefined;
  if (r.count === 0) throw new Error(r.firstError ?? "no request completed");
  return {
    rate,
    p50Us: r.p50Ns / 1000,
    p99Us: r.p99Ns / 1000,
    cpuClientUs: r.cpuUs / Math.max(perUnit, 1),
    cpuServerUs: s0 && s1 ? (s1.cpuUs - s0.cpuUs) / Math.max(perUnit, 1) : undefined,
    gcClientUs: r.gcUs === undefined ? undefined : r.gcUs / Math.max(perUnit, 1),
    gcServerUs:
      s0?.gcUs !== undefined && s1?.gcUs !== undefined
        ? (s1.gcUs - s0.gcUs) / Math.max(perUnit, 1)
        : undefined,
    errors: r.errors,
    lost,
    firstError: r.firstError,
  };
}

/** The median of the defined values, or null when there are none. */
function medianOf(values: Array<number | undefined>): number | null {
  const known = values.filter((v): v is number => v !== undefined);
  return known.length > 0 ? spread(known).median : null;
}

/** Medians and ranges over the measured rounds. */
function summarize(samples: Sample[]): Measured {
  return {
    rate: spread(samples.map((x) => x.rate)),
    p50Us: spread(samples.map((x) => x.p50Us)),
    p99Us: spread(samples.map((x) => x.p99Us)),
    cpuClientUs: spread(samples.map((x) => x.cpuClientUs)).median,
    cpuServerUs: medianOf(samples.map((x) => x.cpuServerUs)),
    gcClientUs: medianOf(samples.map((x) => x.gcClientUs)),
    gcServerUs: medianOf(samples.map((x) => x.gcServerUs)),
    errors: samples.reduce((a, x) => a + x.errors, 0),
    lost: samples.reduce((a, x) => a + x.lost, 0),
    firstError: samples.find((x) => x.firstError !== undefined)?.firstError,
  };
}

/** Warm-up round, then `cfg.rounds` measured rounds of `job`, one stack alone; medians and ranges. */
async function measure(
  pair: Pair,
  cfg: Config,
  job: (durationMs: number) => Job,
  round: RoundRunner,
): Promise<Measured> {
  await round(job(cfg.warmupMs));
  const samples: Sample[] = [];
  for (let i = 0; i < cfg.rounds; i++) samples.push(await sample(pair, job(cfg.roundMs), round));
  return summarize(samples);
}

/** A started request/response stack. */
interface Live {
  stack: StackDef;
  pair: Pair;
}

/**
 * One scenario over several stacks with their rounds interleaved: each stack warms up, then every
 * round visits every stack in turn (starting one further each round). A machine that speeds up or
 * slows down during the scenario then moves every stack's numbers alike, and the ratios between
 * stacks stay fair. A stack that fails is left out of the remaining rounds.
 */
async function interleaved(
  live: Live[],
  cfg: Config,
  group: "unary" | "stream",
  scenario: string,
  job: (durationMs: number) => Job,
): Promise<Row[]> {
  const samples = new Map<Live, Sample[]>();
  const failed = new Map<Live, string>();
  const runner = (p: Pair) => simpleRound(p, group === "unary");
  for (const l of live) {
    samples.set(l, []);
    // Several stacks: every round has a warm-up of its own (below). One stack: its rounds follow
    // each other, after one warm-up.
    if (live.length > 1) continue;
    try {
      await runner(l.pair)(job(cfg.warmupMs));
    } catch (err) {
      samples.delete(l);
      failed.set(l, errText(err));
    }
  }
  for (let i = 0; i < cfg.rounds; i++) {
    log(`  ${scenario}: round ${i + 1}/${cfg.rounds}`);
    for (let k = 0; k < live.length; k++) {
      const l = live[(i + k) % live.length] as Live;
      const got = samples.get(l);
      if (!got) continue;
      try {
        // This stack sat idle while the others ran: warm it up again, unmeasured.
        if (live.length > 1) await runner(l.pair)(job(cfg.roundWarmupMs));
        got.push(await sample(l.pair, job(cfg.roundMs), runner(l.pair)));
      } catch (err) {
        samples.delete(l);
        failed.set(l, errText(err));
      }
    }
  }
  return live.map((l) => {
    const why = failed.get(l);
    const got = samples.get(l);
    if (why !== undefined || !got)
      return missingRows(l.stack, [{ group, scenario }], "failed", why ?? "")[0] as Row;
    return rowOf(l.stack, group, scenario, summarize(got));
  });
}

/** A unary or stream round run by the client alone (its rate: completed units per second). */
function simpleRound(p: Pair, unary: boolean): RoundRunner {
  return async (job: Job) => {
    const r = await p.client.run(job, 60_000 + (unary && job.kind === "unary" ? job.durationMs : 0) * 2);
    return { r, rate: r.count / (r.elapsedNs / 1e9), perUnit: r.count, lost: 0 };
  };
}

/** Scenario name of a unary configuration. */
export function unaryScenario(concurrency: number, bytes: number): string {
  return `unary c=${concurrency} ${sizeLabel(bytes)}`;
}

/** Scenario name of the server stream. */
export function streamScenario(cfg: Config): string {
  return `server stream ${sizeLabel(cfg.streamPayload)}`;
}

/** Scenario name of a pub/sub configuration. */
export function pubsubScenario(subscribers: number): string {
  return subscribers > 1 ? `pub/sub queue group of ${subscribers}` : "pub/sub 1 subscriber";
}

/** The scenarios a request/response stack takes part in. */
export function rpcScenarios(
  stack: StackDef,
  cfg: Config,
): Array<{ group: "unary" | "stream"; scenario: string }> {
  const out: Array<{ group: "unary" | "stream"; scenario: string }> = [];
  for (const bytes of cfg.payloads) {
    for (const c of cfg.concurrencies) out.push({ group: "unary", scenario: unaryScenario(c, bytes) });
  }
  if (stack.stream) out.push({ group: "stream", scenario: streamScenario(cfg) });
  return out;
}

function rowOf(stack: StackDef, group: Row["group"], scenario: string, m: Measured): Row {
  return {
    group,
    scenario,
    stack: stack.id,
    family: stack.family,
    status: "ok",
    rate: m.rate,
    p50Us: group === "unary" ? m.p50Us : undefined,
    p99Us: group === "unary" ? m.p99Us : undefined,
    cpuClientUs: m.cpuClientUs,
    cpuServerUs: m.cpuServerUs,
    gcClientUs: m.gcClientUs,
    gcServerUs: m.gcServerUs,
    errors: m.errors,
    lost: group === "pubsub" ? m.lost : undefined,
    firstError: m.firstError,
  };
}

/** Rows saying why a stack has no numbers. */
export function missingRows(
  stack: StackDef,
  scenarios: Array<{ group: Row["group"]; scenario: string }>,
  status: "unavailable" | "failed",
  reason: string,
): Row[] {
  return scenarios.map((s) => ({ ...s, stack: stack.id, family: stack.family, status, reason }));
}

/** Idle RSS of a stack's server (under tsx) right after it started. */
async function idleRow(stack: StackDef, server: Proc): Promise<MemoryRow> {
  await sleep(300);
  const u = await server.usage(true);
  return {
    stack: stack.id,
    what: "idle",
    status: "ok",
    rssMiB: u.rss / 2 ** 20,
    heapMiB: u.heapUsed / 2 ** 20,
    note: "server process under tsx",
  };
}

/**
 * The request/response stacks: each is started and its memory read while it is the only one at
 * work; then every unary scenario, and the server stream, runs over all of them with interleaved
 * rounds ({@link interleaved}); then they stop.
 */
export async function runRpcStacks(
  stacks: StackDef[],
  cfg: Config,
): Promise<{ rows: Row[]; memory: MemoryRow[] }> {
  const rows: Row[] = [];
  const memory: MemoryRow[] = [];
  const live: Live[] = [];
  try {
    for (const stack of stacks) {
      const reason = await stack.unavailable?.();
      if (reason) {
        rows.push(...missingRows(stack, rpcScenarios(stack, cfg), "unavailable", reason));
        continue;
      }
      log(`${stack.id}: start`);
      let pair: Pair | undefined;
      try {
        pair = await startPair(stack);
        memory.push(...(await memoryRows(stack, pair, cfg)));
        live.push({ stack, pair });
      } catch (err) {
        await pair?.stop();
        rows.push(...missingRows(stack, rpcScenarios(stack, cfg), "failed", errText(err)));
      }
    }
    await warmUp(live, cfg, rows);
    for (const bytes of cfg.payloads) {
      for (const c of cfg.concurrencies) {
        const scenario = unaryScenario(c, bytes);
        log(`${scenario}: ${live.length} stacks, rounds interleaved`);
        rows.push(...(await interleaved(live, cfg, "unary", scenario, unaryJob(cfg, c, bytes))));
      }
    }
    const streaming = live.filter((l) => l.stack.stream);
    if (streaming.length > 0) {
      const scenario = streamScenario(cfg);
      log(`${scenario}: ${streaming.length} stacks, rounds interleaved`);
      rows.push(
        ...(await interleaved(streaming, cfg, "stream", scenario, (durationMs) => ({
          kind: "stream",
          payloadBytes: cfg.streamPayload,
          perStream: cfg.perStream,
          durationMs,
          maxCount: cfg.maxCount,
        }))),
      );
    }
  } finally {
    for (const l of live) await l.pair.stop();
  }
  // Table order: the stacks' order (a stack that could not start was recorded first).
  const order = new Map(stacks.map((st, i) => [st.id, i]));
  rows.sort((a, b) => (order.get(a.stack) ?? 0) - (order.get(b.stack) ?? 0));
  return { rows, memory };
}

/** Unary echo calls at `concurrency` with `bytes` payloads, for a round of any length. */
function unaryJob(cfg: Config, concurrency: number, bytes: number): (durationMs: number) => Job {
  return (durationMs) => ({
    kind: "unary",
    concurrency,
    payloadBytes: bytes,
    durationMs,
    maxCount: cfg.maxCount,
  });
}

/**
 * One unmeasured run of every started stack at the highest concurrency with 1 KiB payloads
 * (`cfg.processWarmupMs`), before any scenario: the JIT compiles each process's hot paths here,
 * not during the first scenario's rounds. A stack that fails is stopped, left out of `live`, and
 * given a failed row for each of its scenarios.
 */
async function warmUp(live: Live[], cfg: Config, rows: Row[]): Promise<void> {
  const job = unaryJob(cfg, Math.max(...cfg.concurrencies), 1024)(cfg.processWarmupMs);
  log(`warm-up: ${live.length} stacks, ${cfg.processWarmupMs} ms each`);
  for (const l of [...live]) {
    try {
      await simpleRound(l.pair, true)(job);
    } catch (err) {
      live.splice(live.indexOf(l), 1);
      rows.push(...missingRows(l.stack, rpcScenarios(l.stack, cfg), "failed", errText(err)));
      await l.pair.stop();
    }
  }
}

/**
 * A started stack's idle server memory, then its memory per connection (measured first, while
 * the server's heap is still small and quiet). The extra connections are closed again after the
 * reading: left open, they would weigh on every later round of the stacks that have the scenario
 * and not on the others (in a scratch pair of processes, 1,000 idle connections took between a
 * tenth and a quarter off the TCP transport's calls per second at c=64, over five alternations).
 */
async function memoryRows(stack: StackDef, p: Pair, cfg: Config): Promise<MemoryRow[]> {
  const out: MemoryRow[] = [];
  if (p.server && !stack.server?.includes("go-micro")) out.push(await idleRow(stack, p.server));
  if (!stack.connections || !p.server) return out;
  log(`  ${stack.id}: memory per connection`);
  try {
    const before = await p.server.usage(true);
    let after: Usage;
    try {
      await p.client.run({ kind: "connections", count: cfg.connections }, 120_000);
      await sleep(500);
      after = await p.server.usage(true);
    } finally {
      await p.client.run({ kind: "disconnect" }, 30_000);
    }
    out.push({
      stack: stack.id,
      what: "per-connection",
      status: "ok",
      perConnectionKiB: (after.rss - before.rss) / 1024 / cfg.connections,
      heapPerConnectionKiB: (after.heapUsed - before.heapUsed) / 1024 / cfg.connections,
      connections: cfg.connections,
    });
  } catch (err) {
    out.push({ stack: stack.id, what: "per-connection", status: "failed", reason: errText(err) });
  }
  return out;
}

/** The pub/sub scenarios for one pub/sub stack, one per `cfg.pubsubSubscribers` entry. */
export async function runPubsub(stack: StackDef, cfg: Config): Promise<Row[]> {
  const variants = cfg.pubsubSubscribers;
  const reason = await stack.unavailable?.();
  if (reason) {
    return missingRows(
      stack,
      variants.map((n) => ({ group: "pubsub" as const, scenario: pubsubScenario(n) })),
      "unavailable",
      reason,
    );
  }
  const rows: Row[] = [];
  for (const subscribers of variants) {
    const scenario = pubsubScenario(subscribers);
    log(`  ${stack.id}: ${scenario}`);
    let pair: Pair | undefined;
    try {
      const topic = `bench.${process.pid}.${stack.id}.${subscribers}`;
      pair = await startPair(stack, { topic, subscribers });
      const p = pair;
      const m = await measure(
        p,
        cfg,
        (durationMs) => ({
          kind: "publish",
          payloadBytes: cfg.pubsubPayload,
          window: stack.pubsubWindow ?? cfg.pubsubWindow,
          durationMs,
          maxCount: cfg.maxCount,
        }),
        (job) => publishRound(p, job),
      );
      rows.push(rowOf(stack, "pubsub", scenario, m));
    } catch (err) {
      rows.push(...missingRows(stack, [{ group: "pubsub", scenario }], "failed", errText(err)));
    } finally {
      await pair?.stop();
    }
  }
  return rows;
}

/**
 * One pub/sub round: the publisher publishes (kept at most a window ahead of the subscribers'
 * reported count) until its time is up; then the round waits (at most 3 s) for the deliveries to
 * stop. Rate = messages received / time from the start to the last delivery report.
 */
async function publishRound(
  p: Pair,
  job: Job,
): Promise<{ r: RoundResult; rate: number; perUnit: number; lost: number }> {
  const counter = p.server ?? p.client;
  const base = counter.received;
  const t0 = performance.now();
  let last = t0;
  counter.onProgress = (n) => {
    last = performance.now();
    p.client.notify({ t: "progress", received: n });
  };
  p.client.notify({ t: "progress", received: counter.received });
  const r = await p.client.run(job, 60_000);
  const drainUntil = performance.now() + 3_000;
  while (counter.received - base < r.count && performance.now() < drainUntil) {
    if (performance.now() - last > 500) break;
    await sleep(5);
  }
  const got = counter.received - base;
  const seconds = Math.max(last - t0, 1) / 1000;
  return { r: { ...r, count: got }, rate: got / seconds, perUnit: got, lost: Math.max(0, r.count - got) };
}

/** Registry lookups: each case measured in one in-process client. */
export async function runRegistry(cfg: Config, cases: readonly string[]): Promise<Row[]> {
  const rows: Row[] = [];
  const scenario = "registry lookup";
  const base = { group: "registry" as const, scenario, family: "registry" as const };
  let client: Proc | undefined;
  try {
    client = new Proc("registry client", join(BENCH_DIR, "stacks/registry/client.ts"), {});
    await client.init("", {}, 30_000);
    const c = client;
    const pair: Pair = { server: undefined, client: c, address: "", info: {}, stop: () => c.stop() };
    for (const name of cases) {
      log(`  registry: ${name}`);
      try {
        const m = await measure(
          pair,
          cfg,
          (durationMs) => ({ kind: "custom", name, durationMs, maxCount: cfg.maxCount }),
          async (job) => {
            const r = await c.run(job, 60_000);
            return { r, rate: r.count / (r.elapsedNs / 1e9), perUnit: r.count, lost: 0 };
          },
        );
        rows.push({
          ...base,
          stack: name,
          status: "ok",
          rate: m.rate,
          p50Us: m.p50Us,
          p99Us: m.p99Us,
          cpuClientUs: m.cpuClientUs,
          cpuServerUs: null,
          errors: m.errors,
        });
      } catch (err) {
        const text = errText(err);
        const unavailable = /unavailable: (.*)$/.exec(text);
        rows.push({
          ...base,
          stack: name,
          status: unavailable ? "unavailable" : "failed",
          reason: unavailable?.[1] ?? text,
        });
      }
    }
  } catch (err) {
    const done = new Set(rows.map((r) => r.stack));
    for (const name of cases) {
      if (!done.has(name)) rows.push({ ...base, stack: name, status: "failed", reason: errText(err) });
    }
  } finally {
    await client?.stop();
  }
  return rows;
}

export function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
