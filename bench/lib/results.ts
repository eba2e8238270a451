import type { Config } from "./args.js";
import type { PlatformInfo } from "./platform.js";
import type { Family } from "./stacks.js";
import type { Spread } from "./stats.js";

/** Scenario groups, in report order. */
export type Group = "unary" | "stream" | "pubsub" | "registry";

/** One stack in one scenario: medians over the rounds, or why there are none. */
export interface Row {
  group: Group;
  /** e.g. "unary c=64 1 KiB", "pub/sub queue group of 3". */
  scenario: string;
  stack: string;
  family: Family | "registry";
  status: "ok" | "unavailable" | "failed";
  reason?: string | undefined;
  /** Requests (unary), messages (stream, pub/sub) or lookups (registry) per second. */
  rate?: Spread | undefined;
  /** Latency percentiles in microseconds (median over rounds, with the range). */
  p50Us?: Spread | undefined;
  p99Us?: Spread | undefined;
  /** CPU microseconds per request (or message), median over rounds. Null: not measurable separately. */
  cpuClientUs?: number | undefined;
  cpuServerUs?: number | null | undefined;
  /**
   * Microseconds per request (or message) that the process's main thread spent paused by garbage
   * collection, median over rounds; part of the CPU figure. Null: not a Node.js process.
   */
  gcClientUs?: number | null | undefined;
  gcServerUs?: number | null | undefined;
  /** Failed requests over all measured rounds. */
  errors?: number | undefined;
  /** Pub/sub: messages published but not received by the end of the round (summed over rounds). */
  lost?: number | undefined;
  firstError?: string | undefined;
}

/** Resident memory readings. */
export interface MemoryRow {
  stack: string;
  what: "idle" | "per-connection";
  status: "ok" | "unavailable" | "failed";
  reason?: string | undefined;
  /** Idle: resident set size (MiB) and V8 heap in use (MiB), after a full GC. */
  rssMiB?: number | undefined;
  heapMiB?: number | undefined;
  /** Per connection: growth of the server's RSS per extra open connection (KiB). */
  perConnectionKiB?: number | undefined;
  /** Per connection: growth of the server's V8 heap in use per extra open connection (KiB). */
  heapPerConnectionKiB?: number | undefined;
  connections?: number | undefined;
  note?: string | undefined;
}

/** A target from the issue, evaluated on this run. */
export interface TargetResult {
  target: string;
  status: "met" | "not met" | "unavailable";
  /** The measured ratio or value, as text. */
  value: string;
}

/** Everything one run produced (saved as JSON). */
export interface Report {
  startedAt: string;
  durationS: number;
  config: Config;
  platform: PlatformInfo;
  rows: Row[];
  memory: MemoryRow[];
  targets: TargetResult[];
  notes: Record<string, string>;
}

/**
 * The raw limit of a scenario: among the `raw` stacks' successful rows, the one with the highest
 * rate, or (with `by: "p50"`) the lowest p50.
 */
export function rawLimit(
  rows: Row[],
  scenario: string,
  raws: string[],
  by: "rate" | "p50" = "rate",
): Row | undefined {
  const cands = rows.filter(
    (r) => r.scenario === scenario && raws.includes(r.stack) && r.status === "ok" && r.rate,
  );
  const key = (r: Row): number =>
    by === "rate" ? -(r.rate?.median ?? 0) : (r.p50Us?.median ?? Number.POSITIVE_INFINITY);
  return cands.sort((a, b) => key(a) - key(b))[0];
}
