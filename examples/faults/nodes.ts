// Starts and stops greeter-node.ts worker processes for the fault tests.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";

/** Options for {@link startNode}. */
export interface StartNodeOptions {
  /** Extra environment (FAULT_* variables, see greeter-node.ts). */
  env: Record<string, string>;
  /** Extra Node flags, e.g. `--expose-gc`. Default none. */
  nodeArgs?: string[];
  /** How long to wait for "ready", in milliseconds. Default 20 000. */
  readyTimeoutMs?: number;
}

/** A running worker process. */
export interface GreeterNode {
  readonly proc: ChildProcess;
  readonly pid: number;
  /** The address it listens on (from its "ready" line). */
  readonly address: string;
  /** Everything it wrote to stderr so far (its log). */
  log(): string;
  /** Resolves with the exit code or signal once the process ended. */
  readonly exited: Promise<number | NodeJS.Signals>;
  /** Sends SIGTERM and waits for the exit (SIGKILL after `timeoutMs`, default 15 000). */
  stop(timeoutMs?: number): Promise<number | NodeJS.Signals>;
}

const script = new URL("./greeter-node.ts", import.meta.url).pathname;
const live = new Set<ChildProcess>();
process.on("exit", () => {
  for (const p of live) p.kill("SIGKILL");
});

/** Spawns a worker and resolves once it printed "ready <address>" (it is registered then). */
export async function startNode(options: StartNodeOptions): Promise<GreeterNode> {
  const env: Record<string, string | undefined> = { ...process.env, ...options.env };
  for (const k of Object.keys(env)) if (k.startsWith("MICRO_") && k !== "MICRO_LOG_LEVEL") delete env[k];
  env.MICRO_LOG_LEVEL ??= "warn";
  const proc = spawn(
    process.execPath,
    ["--conditions=@microts/source", "--import", "tsx", ...(options.nodeArgs ?? []), script],
    { env, stdio: ["ignore", "pipe", "pipe"] },
  );
  live.add(proc);
  let stderr = "";
  proc.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
    if (stderr.length > 1_000_000) stderr = stderr.slice(-500_000);
  });
  const exited = once(proc, "exit").then(([code, signal]) => {
    live.delete(proc);
    return (signal ?? code ?? -1) as number | NodeJS.Signals;
  });
  const readyTimeoutMs = options.readyTimeoutMs ?? 20_000;
  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill("SIGKILL");
      reject(new Error(`worker not ready after ${readyTimeoutMs} ms:\n${stderr}`));
    }, readyTimeoutMs);
    const lines = createInterface({ input: proc.stdout as NodeJS.ReadableStream });
    lines.on("line", (line) => {
      const m = /^ready (\S+)$/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(m[1] as string);
      }
    });
    void exited.then((how) => {
      clearTimeout(timer);
      reject(new Error(`worker exited (${how}) before ready:\n${stderr}`));
    });
  });
  return {
    proc,
    pid: proc.pid as number,
    address,
    log: () => stderr,
    exited,
    async stop(timeoutMs = 15_000) {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
      const t = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
      try {
        return await exited;
      } finally {
        clearTimeout(t);
      }
    },
  };
}

/** Stops every given worker that still runs (SIGTERM, then SIGKILL). */
export async function stopAll(nodes: Iterable<GreeterNode | undefined>): Promise<void> {
  await Promise.all([...nodes].map((n) => n?.stop(5_000)));
}

/**
 * A service name no other test (or other process on this machine) uses. Short: mDNS carries the
 * node id (`<name>-<uuid>`) as one DNS label, at most 63 bytes.
 */
export function uniqueName(what: string): string {
  return `fg-${what}-${Math.random().toString(36).slice(2, 8)}`;
}
