import type { Config } from "./args.js";
import { runIdleGreeter } from "./idle.js";
import { errText, runRegistry, startPair } from "./runner.js";
import type { StackDef } from "./stacks.js";

/** One smoke line: `smoke <name>: ok (<ms> ms)`, `...: unavailable: <reason>` or `...: FAILED: <reason>`. */
export interface SmokeLine {
  name: string;
  status: "ok" | "unavailable" | "FAILED";
  detail: string;
}

export function formatSmoke(l: SmokeLine): string {
  return l.status === "ok"
    ? `smoke ${l.name}: ok (${l.detail})`
    : `smoke ${l.name}: ${l.status}: ${l.detail}`;
}

/** Starts a stack, makes one request (or publishes one message and sees it delivered), stops it. */
export async function smokeStack(stack: StackDef): Promise<SmokeLine> {
  const t0 = Date.now();
  const reason = await stack.unavailable?.();
  if (reason) return { name: stack.id, status: "unavailable", detail: reason };
  const topic = `bench.smoke.${process.pid}.${stack.id}`;
  let pair: Awaited<ReturnType<typeof startPair>> | undefined;
  try {
    pair = await startPair(stack, stack.role === "pubsub" ? { topic, subscribers: 1 } : {});
    await pair.client.run({ kind: "smoke", payloadBytes: 16 }, 20_000);
    if (stack.role === "pubsub") {
      const counter = pair.server ?? pair.client;
      const until = Date.now() + 5_000;
      while (counter.received < 1 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
      if (counter.received < 1) throw new Error("the published message was not delivered within 5 s");
    }
    return { name: stack.id, status: "ok", detail: `${Date.now() - t0} ms` };
  } catch (err) {
    return { name: stack.id, status: "FAILED", detail: errText(err) };
  } finally {
    await pair?.stop();
  }
}

/** Smoke lines for the registry lookups (each case run once, briefly) and the idle greeter. */
export async function smokeExtras(
  cfg: Config,
  cases: readonly string[],
  which: { registry: boolean; memory: boolean },
) {
  const lines: SmokeLine[] = [];
  if (which.registry) {
    const t0 = Date.now();
    const rows = await runRegistry({ ...cfg, warmupMs: 20, rounds: 1, roundMs: 50, maxCount: 100 }, cases);
    for (const r of rows) {
      lines.push({
        name: `registry ${r.stack}`,
        status: r.status === "ok" ? "ok" : r.status === "unavailable" ? "unavailable" : "FAILED",
        detail: r.status === "ok" ? `${Date.now() - t0} ms` : (r.reason ?? ""),
      });
    }
  }
  if (which.memory) {
    const t0 = Date.now();
    const m = await runIdleGreeter();
    lines.push({
      name: "idle-greeter",
      status: m.status === "ok" ? "ok" : "FAILED",
      detail:
        m.status === "ok" ? `${Date.now() - t0} ms, ${(m.rssMiB ?? 0).toFixed(1)} MiB RSS` : (m.reason ?? ""),
    });
  }
  return lines;
}
