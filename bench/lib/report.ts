import { ON_SOURCES } from "./proc.js";
import { type MemoryRow, type Report, type Row, rawLimit } from "./results.js";
import { RAW_PUBSUB, RAW_RPC, STACKS } from "./stacks.js";
import type { Spread } from "./stats.js";

const int = (n: number): string => Math.round(n).toLocaleString("en-US");
const num = (n: number): string => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));

function rateCell(s: Spread): string {
  return `${int(s.median)} (${int(s.min)}–${int(s.max)})`;
}

function statusCell(r: Row): string {
  return r.status === "unavailable" ? "unavailable" : "**failed**";
}

/** Rows of one scenario, in stack order. */
function scenarioRows(rows: Row[], scenario: string): Row[] {
  return rows.filter((r) => r.scenario === scenario);
}

function scenarios(rows: Row[], group: Row["group"]): string[] {
  return [...new Set(rows.filter((r) => r.group === group).map((r) => r.scenario))];
}

function ratioCell(r: Row, raw: Row | undefined): string {
  if (!r.rate || !raw?.rate) return "—";
  return `${(r.rate.median / raw.rate.median).toFixed(2)}×`;
}

/** CPU µs per unit, and in brackets the part of it spent paused for garbage collection, if known. */
function cpuCell(v: number | null | undefined, gc?: number | null | undefined): string {
  if (v === null) return "(in client)";
  if (v === undefined) return "—";
  return gc === null || gc === undefined ? num(v) : `${num(v)} (GC ${num(gc)})`;
}

function unaryTable(rows: Row[], scenario: string): string[] {
  const raw = rawLimit(rows, scenario, RAW_RPC);
  const out = [
    `### ${scenario}`,
    "",
    `| stack | req/s (min–max) | p50 µs | p99 µs | CPU µs/req client (GC) | CPU µs/req server (GC) | × raw TCP${raw ? ` (${raw.stack})` : ""} |`,
    "|---|---:|---:|---:|---:|---:|---:|",
  ];
  for (const r of scenarioRows(rows, scenario)) {
    if (r.status !== "ok" || !r.rate) {
      out.push(`| ${r.stack} | ${statusCell(r)} | — | — | — | — | — |`);
      continue;
    }
    const err = r.errors ? ` ⚠ ${r.errors} errors` : "";
    out.push(
      `| ${r.stack} | ${rateCell(r.rate)}${err} | ${num(r.p50Us?.median ?? 0)} | ${num(r.p99Us?.median ?? 0)} | ${cpuCell(r.cpuClientUs, r.gcClientUs)} | ${cpuCell(r.cpuServerUs, r.gcServerUs)} | ${ratioCell(r, raw)} |`,
    );
  }
  return [...out, ""];
}

/** The raw limits a pub/sub stack is compared with: its own ({@link StackDef.raw}), else raw NATS. */
function pubsubRaws(stack: string): string[] {
  const raw = STACKS.find((s) => s.id === stack)?.raw;
  return raw ? [raw] : RAW_PUBSUB;
}

/**
 * Messages per second of one stream or pub/sub scenario. A stream row is compared with the raw TCP
 * limit; a pub/sub row with the raw use of the system it runs on (named in the cell).
 */
function throughputTable(rows: Row[], scenario: string, pubsub: boolean): string[] {
  const streamBase = pubsub ? undefined : rawLimit(rows, scenario, RAW_RPC);
  const out = [
    `### ${scenario}`,
    "",
    `| stack | msg/s (min–max) | CPU µs/msg ${pubsub ? "publisher" : "client"} (GC) | CPU µs/msg ${pubsub ? "subscribers" : "server"} (GC) | × ${pubsub ? "its raw limit" : (streamBase?.stack ?? "raw")} |${pubsub ? " lost |" : ""}`,
    `|---|---:|---:|---:|---:|${pubsub ? "---:|" : ""}`,
  ];
  for (const r of scenarioRows(rows, scenario)) {
    if (r.status !== "ok" || !r.rate) {
      out.push(`| ${r.stack} | ${statusCell(r)} | — | — | — |${pubsub ? " — |" : ""}`);
      continue;
    }
    const base = pubsub ? rawLimit(rows, scenario, pubsubRaws(r.stack)) : streamBase;
    const ratio = ratioCell(r, base);
    const ratioText = pubsub && base && ratio !== "—" ? `${ratio} ${base.stack}` : ratio;
    out.push(
      `| ${r.stack} | ${rateCell(r.rate)} | ${cpuCell(r.cpuClientUs, r.gcClientUs)} | ${cpuCell(r.cpuServerUs, r.gcServerUs)} | ${ratioText} |${pubsub ? ` ${int(r.lost ?? 0)} |` : ""}`,
    );
  }
  return [...out, ""];
}

/**
 * micro-ts rows × other stacks: throughput ratios for one scenario. RPC stacks all run over
 * loopback TCP, so every other stack is a column; pub/sub stacks run on different servers, so only
 * the peers are (each row's raw limit is in its table).
 */
function ratioMatrix(rows: Row[], scenario: string, peersOnly = false): string[] {
  const here = scenarioRows(rows, scenario).filter((r) => r.status === "ok" && r.rate);
  const mine = here.filter((r) => r.family === "micro-ts");
  const others = here.filter((r) => (peersOnly ? r.family === "peer" : r.family !== "micro-ts"));
  if (mine.length === 0 || others.length === 0) return [];
  const out = [
    `| ${scenario} | ${others.map((o) => o.stack).join(" | ")} |`,
    `|---|${others.map(() => "---:").join("|")}|`,
  ];
  for (const m of mine) {
    out.push(
      `| ${m.stack} | ${others.map((o) => `${((m.rate?.median ?? 0) / (o.rate?.median ?? 1)).toFixed(2)}×`).join(" | ")} |`,
    );
  }
  return [...out, ""];
}

function memoryTables(memory: MemoryRow[]): string[] {
  const out: string[] = [];
  const idle = memory.filter((m) => m.what === "idle");
  if (idle.length > 0) {
    out.push(
      "### Idle resident memory",
      "",
      "| process | RSS MiB | V8 heap MiB | how |",
      "|---|---:|---:|---|",
    );
    for (const m of idle) {
      out.push(
        m.status === "ok"
          ? `| ${m.stack} | ${num(m.rssMiB ?? 0)} | ${num(m.heapMiB ?? 0)} | ${m.note ?? ""} |`
          : `| ${m.stack} | **${m.status}** | — | ${m.reason ?? ""} |`,
      );
    }
    out.push("");
  }
  const conn = memory.filter((m) => m.what === "per-connection");
  if (conn.length > 0) {
    out.push(
      "### Server memory per open connection",
      "",
      "| stack | RSS KiB per connection | V8 heap KiB per connection | connections opened |",
      "|---|---:|---:|---:|",
    );
    for (const m of conn) {
      out.push(
        m.status === "ok"
          ? `| ${m.stack} | ${num(m.perConnectionKiB ?? 0)} | ${num(m.heapPerConnectionKiB ?? 0)} | ${m.connections ?? ""} |`
          : `| ${m.stack} | **${m.status}**: ${m.reason ?? ""} | — | — |`,
      );
    }
    out.push("");
  }
  return out;
}

/** The whole report as Markdown. */
export function toMarkdown(rep: Report): string {
  const { config: cfg, platform: pf, rows } = rep;
  const out: string[] = [
    `# micro-ts benchmark: ${cfg.mode} run, ${rep.startedAt}`,
    "",
    `Node ${pf.node} · ${pf.os} · ${pf.cpu} × ${pf.cores} · ${pf.memoryGiB} GiB · load ${pf.loadAverage.join(" ")} · nats-server ${pf.natsServer} · commit ${pf.commit}`,
    "",
    `Versions: ${Object.entries(pf.versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")}`,
    "",
    `Method: server and client in separate processes on 127.0.0.1 (except the in-process rows); ${cfg.rounds} rounds × ${cfg.roundMs} ms per scenario (request/response stacks: a ${cfg.processWarmupMs} ms warm-up each before any scenario, then they take their rounds in turn, each after ${cfg.roundWarmupMs} ms of unmeasured warm-up; pub/sub: a ${cfg.warmupMs} ms warm-up, then their rounds back to back; registry: the same with half-length rounds and at most 300 ms of warm-up); each cell is the median of the rounds (min–max of req/s in brackets); latency percentiles are medians of per-round p50/p99; CPU is process.cpuUsage per side divided by completed requests; micro-ts packages ${ON_SOURCES ? "run from their TypeScript sources under tsx" : "run as built (dist/)"}. Took ${rep.durationS.toFixed(0)} s.`,
    "",
    "## Targets",
    "",
    "| target | measured | status |",
    "|---|---|---|",
    ...rep.targets.map(
      (t) =>
        `| ${t.target} | ${t.value} | ${t.status === "met" ? "✅ met" : t.status === "not met" ? "❌ not met" : "➖ unavailable"} |`,
    ),
    "",
  ];
  const unary = scenarios(rows, "unary");
  if (unary.length > 0) {
    out.push("## Unary calls (echo)", "");
    for (const s of unary) out.push(...unaryTable(rows, s));
    const matrices = unary.flatMap((s) => ratioMatrix(rows, s));
    if (matrices.length > 0)
      out.push(
        "### Ratios to each peer (req/s of the micro-ts stack ÷ req/s of the column's stack)",
        "",
        ...matrices,
      );
  }
  const stream = scenarios(rows, "stream");
  if (stream.length > 0) {
    out.push("## Server stream (messages/s)", "");
    for (const s of stream) out.push(...throughputTable(rows, s, false));
  }
  const pubsub = scenarios(rows, "pubsub");
  if (pubsub.length > 0) {
    out.push("## Pub/sub (messages/s received)", "");
    for (const s of pubsub) out.push(...throughputTable(rows, s, true));
    const matrices = pubsub.flatMap((s) => ratioMatrix(rows, s, true));
    if (matrices.length > 0)
      out.push(
        "### Ratios to each peer (msg/s of the micro-ts broker ÷ msg/s of the column's stack)",
        "",
        ...matrices,
      );
  }
  const reg = rows.filter((r) => r.group === "registry");
  if (reg.length > 0) {
    out.push(
      "## Registry lookup",
      "",
      "| lookup | lookups/s (min–max) | p50 µs | p99 µs | CPU µs/lookup |",
      "|---|---:|---:|---:|---:|",
    );
    for (const r of reg) {
      out.push(
        r.status === "ok" && r.rate
          ? `| ${r.stack} | ${rateCell(r.rate)} | ${num(r.p50Us?.median ?? 0)} | ${num(r.p99Us?.median ?? 0)} | ${cpuCell(r.cpuClientUs)} |`
          : `| ${r.stack} | ${statusCell(r)} | — | — | — |`,
      );
    }
    out.push("");
  }
  if (rep.memory.length > 0) out.push("## Memory", "", ...memoryTables(rep.memory));
  const missing = new Map<string, string>();
  for (const r of rows) {
    if (r.status !== "ok") missing.set(`${r.stack}: ${r.status}`, r.reason ?? "");
  }
  if (missing.size > 0) {
    out.push("## Not measured", "");
    for (const [k, v] of missing) out.push(`- ${k}: ${v}`);
    out.push("");
  }
  const errs = rows.filter((r) => r.status === "ok" && r.errors);
  if (errs.length > 0) {
    out.push("## Errors during measured rounds", "");
    for (const r of errs)
      out.push(`- ${r.stack}, ${r.scenario}: ${r.errors} (first: ${r.firstError ?? "?"})`);
    out.push("");
  }
  const used = new Set(rows.map((r) => r.stack));
  out.push("## Stacks", "");
  for (const s of STACKS) if (used.has(s.id) && s.note) out.push(`- **${s.id}**: ${s.note}`);
  out.push("");
  return out.join("\n");
}
