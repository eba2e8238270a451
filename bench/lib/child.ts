import { PerformanceObserver } from "node:perf_hooks";
import { cpuUsage, memoryUsage } from "node:process";
import { setImmediate as turn } from "node:timers/promises";
import { type ChildMessage, errorText, type ParentMessage, type Usage } from "./protocol.js";

/** Sends a message to the orchestrator (a no-op when not run as a forked child). */
export function send(msg: ChildMessage): void {
  if (process.send && process.connected) process.send(msg);
}

/** CPU time (user + system) of this process so far, in microseconds. */
export function cpuMicros(): number {
  const u = cpuUsage();
  return u.user + u.system;
}

let gcPauseUs = 0;
let gcObserver: PerformanceObserver | undefined;

/** Starts adding up this process's garbage-collection pauses (see {@link gcMicros}); idempotent. */
export function watchGc(): void {
  if (gcObserver) return;
  gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcPauseUs += e.duration * 1000;
  });
  gcObserver.observe({ entryTypes: ["gc"] });
}

/**
 * The time this process's main thread spent paused in garbage collection since
 * {@link watchGc}, in microseconds. Node reports a collection a couple of event-loop turns
 * after it ends, so this waits two turns before reading.
 */
export async function gcMicros(): Promise<number> {
  await turn();
  await turn();
  return gcPauseUs;
}

/**
 * Starts measuring this process's CPU time and GC pauses; `stop` returns both since the start,
 * in microseconds. CPU is read at once; the GC reading waits for Node's late reports ({@link gcMicros}).
 */
export async function startMeter(): Promise<{ stop(): Promise<{ cpuUs: number; gcUs: number }> }> {
  const gc0 = await gcMicros();
  const cpu0 = cpuMicros();
  return {
    async stop() {
      const cpuUs = cpuMicros() - cpu0;
      return { cpuUs, gcUs: (await gcMicros()) - gc0 };
    },
  };
}

/** This process's CPU, GC pauses and memory; with `gc` (and --expose-gc), collects garbage first. */
export async function usage(gc: boolean): Promise<Usage> {
  // Read before a forced collection, so that the forced one is not counted.
  const gcUs = await gcMicros();
  const collect = (globalThis as { gc?: () => void }).gc;
  if (gc && collect) {
    collect();
    collect();
  }
  const m = memoryUsage();
  return { cpuUs: cpuMicros(), gcUs, rss: m.rss, heapUsed: m.heapUsed };
}

/** Handlers a child registers; each request handler's result becomes the reply's value. */
export interface ChildHandlers {
  init?(address: string, info: Record<string, unknown>): Promise<void>;
  run?(job: Extract<ParentMessage, { t: "run" }>["job"]): Promise<unknown>;
  progress?(received: number): void;
  /** Replaces this process's own CPU/memory reading (e.g. with that of an external server it runs). */
  usage?(gc: boolean): Promise<Usage>;
  stop(): Promise<void>;
}

/**
 * Wires IPC messages to handlers. The child exits after `stop` (or when the orchestrator goes away),
 * and always within 5 s of being told to, even when a close hangs.
 */
export function serveParent(h: ChildHandlers): void {
  watchGc();
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => process.exit(0), 5_000).unref();
    try {
      await h.stop();
    } catch {
      // The process exits anyway.
    }
    process.exit(0);
  };
  process.on("disconnect", () => void stop());
  process.on("message", (raw: unknown) => {
    const msg = raw as ParentMessage;
    switch (msg.t) {
      case "stop":
        void stop();
        return;
      case "progress":
        h.progress?.(msg.received);
        return;
      case "usage":
        answer(msg.id, () => (h.usage ? h.usage(msg.gc) : usage(msg.gc)));
        return;
      case "init":
        answer(msg.id, () => (h.init ? h.init(msg.address, msg.info) : Promise.resolve()));
        return;
      case "run":
        answer(msg.id, () => (h.run ? h.run(msg.job) : Promise.reject(new Error("no run handler"))));
        return;
    }
  });
}

function answer(id: number, fn: () => Promise<unknown>): void {
  fn().then(
    (value) => send({ t: "reply", id, ok: true, value: value ?? null }),
    (err: unknown) => send({ t: "reply", id, ok: false, error: errorText(err) }),
  );
}

/** Reports a startup failure and exits non-zero. */
export function fatal(err: unknown): never {
  send({ t: "fatal", error: errorText(err) });
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  setTimeout(() => process.exit(1), 100);
  throw err;
}

/** The JSON object passed as the child's first command-line argument (stack options). */
export function childArgs(): Record<string, unknown> {
  const raw = process.argv[2];
  if (!raw) return {};
  return JSON.parse(raw) as Record<string, unknown>;
}
