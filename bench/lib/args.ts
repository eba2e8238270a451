import { parseArgs } from "node:util";

/** How the suite runs: the mode and its timings. */
export interface Config {
  mode: "quick" | "full" | "smoke";
  /** Only stacks (or scenario groups) whose name contains one of these. */
  only: string[];
  /** Unmeasured run before a stack's first round (pub/sub, registry, and interleaved scenarios of one stack). */
  warmupMs: number;
  /**
   * Request/response stacks: one unmeasured run of each stack (highest concurrency, 1 KiB) after
   * all have started and before any scenario, so that every scenario measures compiled code. A
   * fresh micro-ts client took about 150,000 calls (2 s here) before its CPU per call stopped falling.
   * Default 1000 ms (quick), 2000 ms (full).
   */
  processWarmupMs: number;
  /**
   * Interleaved scenarios: an unmeasured run of each stack right before each of its measured
   * rounds. A process idle for several seconds (while the other stacks take their turns) has had
   * its young generation shrunk by V8, and would otherwise spend its round growing it back.
   */
  roundWarmupMs: number;
  rounds: number;
  roundMs: number;
  /** Unary scenarios: concurrency × payload size. */
  concurrencies: number[];
  payloads: number[];
  /** Messages per server-stream request, and their size. */
  perStream: number;
  streamPayload: number;
  /**
   * Pub/sub scenarios: subscribers per scenario (more than one: a queue group). Full: 1 and 3;
   * quick: 1, what the targets are judged on (and under 3 minutes).
   */
  pubsubSubscribers: number[];
  /** Pub/sub: payload size and the most messages a publisher may be ahead of its subscribers. */
  pubsubPayload: number;
  pubsubWindow: number;
  /** Extra connections opened for the memory-per-connection reading. */
  connections: number;
  /** Upper bound on requests per round (every loop is bounded in count as well as time). */
  maxCount: number;
  /** Write results/ files. */
  save: boolean;
  /** Folder for a V8 CPU profile of every stack process (`--cpu-prof`), or undefined. */
  cpuProfDir: string | undefined;
}

const HELP = `usage: npm run bench -- [--quick | --full | --smoke] [--only <substring>]...
  --quick           1 KiB unary at c=1 and c=64, stream, pub/sub, registry, memory (< 3 min; default)
  --full            adds 16 B and 64 KiB payloads, every broker, 5 rounds (< 10 min)
  --smoke           every stack: start, one request/answer, stop (exit 1 if an available stack fails)
  --only <s>        only stacks or scenario groups (unary, stream, pubsub, registry, memory) containing <s>; repeatable
  --rounds <n>      measured rounds per scenario
  --round-ms <ms>   length of a round
  --warmup-ms <ms>  warm-up before the rounds
  --process-warmup-ms <ms>  unmeasured run of each request/response stack before any scenario
  --round-warmup-ms <ms>  unmeasured run of a stack right before each of its interleaved rounds
  --no-save         do not write bench/results/
  --cpu-prof <dir>  write a V8 CPU profile of every server and client process to <dir>
`;

/** Parses the command line (after `npm run bench --`). */
export function parseConfig(argv: string[]): Config {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: "boolean" },
      full: { type: "boolean" },
      smoke: { type: "boolean" },
      only: { type: "string", multiple: true },
      rounds: { type: "string" },
      "round-ms": { type: "string" },
      "warmup-ms": { type: "string" },
      "process-warmup-ms": { type: "string" },
      "round-warmup-ms": { type: "string" },
      "no-save": { type: "boolean" },
      "cpu-prof": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(HELP);
    process.exit(0);
  }
  const mode = values.smoke ? "smoke" : values.full ? "full" : "quick";
  const full = mode === "full";
  const num = (v: string | undefined, d: number): number => {
    if (v === undefined) return d;
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`not a positive number: ${v}`);
    return n;
  };
  return {
    mode,
    only: values.only ?? [],
    warmupMs: num(values["warmup-ms"], 500),
    processWarmupMs: num(values["process-warmup-ms"], full ? 2000 : 1000),
    roundWarmupMs: num(values["round-warmup-ms"], 200),
    rounds: num(values.rounds, full ? 5 : 3),
    // Full mode's rounds are shorter, so that 13 request/response stacks × 6 configurations fit in 10 minutes.
    roundMs: num(values["round-ms"], full ? 500 : 600),
    concurrencies: [1, 64],
    payloads: full ? [16, 1024, 65536] : [1024],
    perStream: 1_000,
    streamPayload: 1024,
    pubsubSubscribers: full ? [1, 3] : [1],
    pubsubPayload: 16,
    pubsubWindow: 20_000,
    connections: full ? 1_000 : 300,
    maxCount: 5_000_000,
    save: !values["no-save"],
    cpuProfDir: values["cpu-prof"],
  };
}

/** "16 B", "1 KiB", "64 KiB". */
export function sizeLabel(bytes: number): string {
  return bytes >= 1024 ? `${bytes / 1024} KiB` : `${bytes} B`;
}
