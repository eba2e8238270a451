import { type ChildProcess, fork } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { ChildMessage, Job, ParentMessage, RoundResult, Usage } from "./protocol.js";

/** The bench/ folder. */
export const BENCH_DIR = fileURLToPath(new URL("..", import.meta.url));

/**
 * True when the orchestrator runs on the packages' TypeScript sources (started with
 * `--conditions=@microts/source`, as the CI smoke check does); `npm run bench` runs on the built
 * packages (dist/), as users do. Under tsx the packages' code is transformed with esbuild's
 * keepNames, which wraps every closure in a `__name` call: about 10 % more server CPU per call.
 */
export const ON_SOURCES = process.execArgv.some((a) => a === "--conditions=@microts/source");

/** Node flags every child runs with: the orchestrator's choice of packages, tsx for the bench's own scripts, and `gc()` for memory readings. */
const EXEC_ARGV = [...(ON_SOURCES ? ["--conditions=@microts/source"] : []), "--import", "tsx", "--expose-gc"];

let profileDir: string | undefined;
let profiles = 0;

/**
 * Makes every process forked from now on write V8 CPU profiles when it exits, into a folder of
 * `dir` named after its label (`micro-ts-nats-server-3/`). Node writes one file per thread: the
 * main thread's is the one whose name has thread id 0 (`CPU.<date>.<time>.<pid>.0.001.cpuprofile`);
 * the others are the module loader's. Open them in Chrome DevTools.
 */
export function profileChildren(dir: string): void {
  // Relative to where `npm run bench` was typed (npm sets INIT_CWD), not to bench/.
  profileDir = resolve(process.env.INIT_CWD ?? process.cwd(), dir);
  mkdirSync(profileDir, { recursive: true });
}

function profileFlags(label: string): string[] {
  if (!profileDir) return [];
  const folder = join(profileDir, `${label.replace(/[^\w.-]+/g, "-")}-${++profiles}`);
  return ["--cpu-prof", `--cpu-prof-dir=${folder}`];
}

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout };

/**
 * A forked stack process (server or client) driven over IPC. Every request has a time limit;
 * a child that dies fails its pending requests at once; `stop` ends it within 5 s (then SIGKILL).
 */
export class Proc {
  readonly child: ChildProcess;
  private seq = 0;
  private readonly pending = new Map<number, Pending>();
  private stderr = "";
  private exited = false;
  private readyWaiter: Pending | undefined;
  private readyValue: { address: string; info: Record<string, unknown> } | undefined;
  private deathReason: string | undefined;
  /** Latest received-message total a server reported. */
  received = 0;
  /** Called on each progress report (used to forward it to a publisher). */
  onProgress: ((received: number) => void) | undefined;

  constructor(
    readonly label: string,
    script: string,
    args: Record<string, unknown>,
    /** Node flags; default: tsx, --expose-gc, and the @microts/source condition when {@link ON_SOURCES}. */
    execArgv: string[] = EXEC_ARGV,
  ) {
    this.child = fork(script, [JSON.stringify(args)], {
      cwd: BENCH_DIR,
      execArgv: [...execArgv, ...profileFlags(label)],
      stdio: ["ignore", "pipe", "pipe", "ipc"],
      env: { ...process.env, NODE_ENV: "production" },
    });
    this.child.stdout?.on("data", () => {});
    this.child.stderr?.on("data", (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4000);
    });
    this.child.on("message", (raw: unknown) => this.onMessage(raw as ChildMessage));
    this.child.on("exit", (code, signal) => {
      this.exited = true;
      const why =
        this.deathReason ??
        `${label} exited (${code ?? signal})${this.stderr ? `: ${lastLine(this.stderr)}` : ""}`;
      const err = new Error(why);
      for (const p of this.pending.values()) {
        clearTimeout(p.timer);
        p.reject(err);
      }
      this.pending.clear();
      if (this.readyWaiter) {
        clearTimeout(this.readyWaiter.timer);
        this.readyWaiter.reject(err);
        this.readyWaiter = undefined;
      }
    });
  }

  /** The process id (for /proc readings). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Waits for the server's `ready` (its address and facts). */
  ready(timeoutMs = 30_000): Promise<{ address: string; info: Record<string, unknown> }> {
    if (this.readyValue) return Promise.resolve(this.readyValue);
    if (this.exited) return Promise.reject(new Error(this.deathReason ?? `${this.label} is not running`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.readyWaiter = undefined;
        reject(new Error(`${this.label} did not start within ${timeoutMs} ms${this.tail()}`));
      }, timeoutMs);
      this.readyWaiter = { resolve: resolve as (v: unknown) => void, reject, timer };
    });
  }

  init(address: string, info: Record<string, unknown>, timeoutMs = 30_000): Promise<void> {
    return this.ask({ t: "init", id: 0, address, info }, timeoutMs) as Promise<void>;
  }

  run(job: Job, timeoutMs: number): Promise<RoundResult> {
    return this.ask({ t: "run", id: 0, job }, timeoutMs) as Promise<RoundResult>;
  }

  usage(gc = false): Promise<Usage> {
    return this.ask({ t: "usage", id: 0, gc }, 10_000) as Promise<Usage>;
  }

  notify(msg: ParentMessage): void {
    if (!this.exited && this.child.connected) this.child.send(msg);
  }

  /** Asks the child to stop; kills it if it is still there after `graceMs`. */
  async stop(graceMs = 5_000): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    this.notify({ t: "stop" });
    const t = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
    await gone;
    clearTimeout(t);
  }

  private ask(msg: ParentMessage & { id: number }, timeoutMs: number): Promise<unknown> {
    if (this.exited) return Promise.reject(new Error(this.deathReason ?? `${this.label} is not running`));
    const id = ++this.seq;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.label}: no answer to ${msg.t} within ${timeoutMs} ms${this.tail()}`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.child.send({ ...msg, id });
    });
  }

  private onMessage(msg: ChildMessage): void {
    switch (msg.t) {
      case "ready":
        this.readyValue = { address: msg.address, info: msg.info };
        if (this.readyWaiter) {
          clearTimeout(this.readyWaiter.timer);
          this.readyWaiter.resolve(this.readyValue);
          this.readyWaiter = undefined;
        }
        return;
      case "progress":
        this.received = msg.received;
        this.onProgress?.(msg.received);
        return;
      case "fatal":
        this.deathReason = `${this.label}: ${msg.error}`;
        return;
      case "reply": {
        const p = this.pending.get(msg.id);
        if (!p) return;
        this.pending.delete(msg.id);
        clearTimeout(p.timer);
        if (msg.ok) p.resolve(msg.value);
        else p.reject(new Error(`${this.label}: ${msg.error}`));
        return;
      }
    }
  }

  private tail(): string {
    return this.stderr ? ` (stderr: ${lastLine(this.stderr)})` : "";
  }
}

function lastLine(s: string): string {
  const lines = s.trim().split("\n");
  return (lines[lines.length - 1] ?? "").slice(0, 300);
}
