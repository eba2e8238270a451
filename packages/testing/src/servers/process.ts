import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createConnection, createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Process management shared by the server launchers in this folder: free loopback ports, readiness
 * polling, spawning a server binary with its log kept for error messages, stopping it
 * (SIGTERM, then SIGKILL after a grace period), and killing it on process exit.
 */

/** Resolves after `ms` milliseconds. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A TCP port that was free on `host` (default 127.0.0.1) a moment ago. */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  const [port = 0] = await freePorts(1, host);
  return port;
}

/** `n` distinct TCP ports free on `host` (default 127.0.0.1); held open together so they differ. */
export async function freePorts(n: number, host = "127.0.0.1"): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<Server>((resolve, reject) => {
          const srv = createServer();
          srv.once("error", reject);
          srv.listen(0, host, () => resolve(srv));
        }),
    ),
  );
  const ports = servers.map((srv) => {
    const addr = srv.address();
    return typeof addr === "object" && addr ? addr.port : 0;
  });
  await Promise.all(servers.map((srv) => new Promise((resolve) => srv.close(resolve))));
  if (ports.includes(0)) throw new Error(`no free port on ${host}`);
  return ports;
}

/** True when a TCP connection to `host:port` opens within `timeoutMs` (default 1000 ms). */
export function canConnect(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ host, port });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once("error", () => done(false));
    sock.once("connect", () => done(true));
  });
}

/**
 * Resolves once `host:port` accepts TCP connections (polled every 50 ms); rejects with an `Error`
 * after `timeoutMs` milliseconds.
 */
export async function waitForPort(host: string, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await canConnect(host, port))) {
    if (Date.now() >= deadline)
      throw new Error(`${host}:${port} not accepting connections after ${timeoutMs}ms`);
    await delay(50);
  }
}

/**
 * Resolves once `host:port` refuses TCP connections (polled every 100 ms), or silently after
 * `timeoutMs` milliseconds (default 30 000).
 */
export async function waitForPortClosed(host: string, port: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && (await canConnect(host, port))) await delay(100);
}

// Everything the exit hook must clean up: SIGKILLs for started children, temp dirs not yet removed.
const exitKills = new Set<() => void>();
const liveTempDirs = new Set<string>();
let exitHooked = false;

function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.once("exit", () => {
    for (const killNow of exitKills) killNow();
    for (const dir of liveTempDirs) rmSync(dir, { recursive: true, force: true });
  });
}

/**
 * Creates a new directory `<os tmpdir>/<prefix><random>` for a server's data. It is removed by
 * {@link removeTempDir} (the launchers do this on `stop()`), or when the test process exits.
 */
export function makeTempDir(prefix: string): string {
  hookExit();
  const dir = mkdtempSync(join(tmpdir(), prefix));
  liveTempDirs.add(dir);
  return dir;
}

/** Removes a directory made by {@link makeTempDir} (or any directory) with its contents. Idempotent. */
export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  liveTempDirs.delete(dir);
}

/** Options for {@link spawnServer}. */
export interface SpawnServerOptions {
  /** The binary to run. */
  command: string;
  /** Its arguments. Default none. */
  args?: readonly string[];
  /** Its environment. Default: this process's environment. */
  env?: NodeJS.ProcessEnv;
  /** Its working directory. Default: this process's. */
  cwd?: string;
  /** The server's name in error messages, e.g. "nats-server". */
  logName: string;
  /**
   * Resolves true once the server is ready to serve (e.g. `() => canConnect(host, port)`). Called
   * every `pollMs` until it does, the process exits, or `startTimeoutMs` passes; a rejection fails
   * the start. `log` is what the process wrote to stdout/stderr since it was started.
   */
  readyCheck: (log: string) => Promise<boolean> | boolean;
  /** How long a start may take until `readyCheck` passes, in milliseconds. Default 10 000. */
  startTimeoutMs?: number;
  /** Interval between readiness checks, in milliseconds. Default 50. */
  pollMs?: number;
  /** After SIGTERM, how long to wait before SIGKILL, in milliseconds. Default 5 000. */
  stopGraceMs?: number;
  /**
   * Start the server as the leader of its own process group and signal the whole group, for
   * wrapper scripts whose real server is a grandchild (RabbitMQ's sh → erl → beam.smp). Default false.
   */
  processGroup?: boolean;
  /** How many characters of the process's output to keep for error messages (the tail). Default 20 000. */
  logLimit?: number;
  /** Runs after every kill, once the process has exited (e.g. wait until its port is closed). */
  afterKill?: () => Promise<void>;
  /** Directories removed by `stop()` (e.g. from {@link makeTempDir}). Default none. */
  tempDirs?: readonly string[];
}

/** A server process started by {@link spawnServer}. */
export interface ServerProcess {
  /** The current process id; undefined while not running. */
  readonly pid: number | undefined;
  /** True while a process is started and has not exited. */
  readonly running: boolean;
  /** True after {@link stop}. */
  readonly stopped: boolean;
  /** Milliseconds the last successful `start()` took from spawn until `readyCheck` passed. */
  readonly startupMs: number;
  /** The tail of the current process's stdout and stderr (reset at every start). */
  log(): string;
  /**
   * Starts the process again (after `kill`) and resolves once `readyCheck` passes; a no-op while
   * running. Rejects with an `Error` (after killing the process) when the binary cannot run, exits,
   * or is not ready within `startTimeoutMs`, and after `stop()`.
   */
  start(): Promise<void>;
  /**
   * Polls `readyCheck` against the running process until it passes (e.g. after the server was
   * restarted from inside); rejects when the process exits or at `deadline` (epoch ms).
   */
  waitReady(deadline?: number): Promise<void>;
  /**
   * Stops the process (SIGCONT so a paused process can handle it, then SIGTERM, then SIGKILL after
   * `stopGraceMs`; straight SIGKILL with `hard`) and waits for it to exit. Data is kept and `start()`
   * works again. A no-op when not running.
   */
  kill(options?: { hard?: boolean }): Promise<void>;
  /** `kill(options)`, waits `downMs` milliseconds (default 0), then `start()`. Rejects after `stop()`. */
  restart(options?: { downMs?: number; hard?: boolean }): Promise<void>;
  /** Sends a signal to the running process (its group with `processGroup`); a no-op when not running. */
  signal(signal: NodeJS.Signals): void;
  /** Kills the process and removes `tempDirs`; later `start()`/`restart()` reject. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Spawns a server binary and resolves once `readyCheck` passes, with a handle to stop, kill and
 * restart it. The process is SIGKILLed when the test process exits. When the first start fails the
 * handle is stopped (its `tempDirs` removed) and the `Error` is rethrown.
 */
export async function spawnServer(options: SpawnServerOptions): Promise<ServerProcess> {
  const name = options.logName;
  const startTimeoutMs = options.startTimeoutMs ?? 10_000;
  const pollMs = options.pollMs ?? 50;
  const graceMs = options.stopGraceMs ?? 5_000;
  const logLimit = options.logLimit ?? 20_000;
  hookExit();

  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let failure: string | undefined; // why the current child ended, once it has
  let output = "";
  let stopped = false;
  let startupMs = 0;

  const isRunning = (c: ChildProcess | undefined): c is ChildProcess =>
    c !== undefined && failure === undefined && c.exitCode === null && c.signalCode === null;

  const sendSignal = (c: ChildProcess, sig: NodeJS.Signals) => {
    if (c.pid === undefined) return;
    try {
      if (options.processGroup) process.kill(-c.pid, sig);
      else c.kill(sig);
    } catch {
      // already gone
    }
  };

  const failed = (why: string) => new Error(`${name} ${why}; log tail:\n${output.slice(-4_000)}`);

  const waitReady = async (deadline = Date.now() + startTimeoutMs): Promise<void> => {
    for (;;) {
      if (!isRunning(child)) throw failed(failure ?? "is not running");
      if (await options.readyCheck(output)) return;
      if (Date.now() >= deadline) throw failed(`was not ready within ${startTimeoutMs}ms`);
      await delay(pollMs);
    }
  };

  // For the exit hook: the child of the moment (its whole group, even when the leader has exited).
  const killNow = () => {
    if (child) sendSignal(child, "SIGKILL");
  };

  const kill = async (opts: { hard?: boolean } = {}): Promise<void> => {
    const c = child;
    if (!c) return;
    child = undefined;
    if (isRunning(c)) {
      const timer = setTimeout(() => sendSignal(c, "SIGKILL"), graceMs);
      if (opts.hard) sendSignal(c, "SIGKILL");
      else {
        sendSignal(c, "SIGCONT");
        sendSignal(c, "SIGTERM");
      }
      await exited;
      clearTimeout(timer);
    }
    // A group's other members (e.g. beam.smp under a wrapper script) may outlive its leader.
    if (options.processGroup) sendSignal(c, "SIGKILL");
    exitKills.delete(killNow);
    await options.afterKill?.();
  };

  const start = async (): Promise<void> => {
    if (stopped) throw new Error(`${name}: start after stop`);
    if (isRunning(child)) return;
    output = "";
    failure = undefined;
    const spawnedAt = Date.now();
    const c = spawn(options.command, options.args ?? [], {
      env: options.env,
      cwd: options.cwd,
      detached: options.processGroup === true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    child = c;
    exitKills.add(killNow);
    const keep = (b: Buffer) => {
      output = (output + b.toString()).slice(-logLimit);
    };
    c.stdout?.on("data", keep);
    c.stderr?.on("data", keep);
    exited = new Promise<void>((resolve) => {
      c.once("error", (err) => {
        failure ??= `could not run ${options.command}: ${err.message}`;
        resolve();
      });
      c.once("exit", (code, sig) => {
        failure ??= `exited (${code ?? sig})`;
        resolve();
      });
    });
    try {
      await waitReady();
    } catch (err) {
      await kill({ hard: true });
      throw err;
    }
    startupMs = Date.now() - spawnedAt;
  };

  const handle: ServerProcess = {
    get pid() {
      return isRunning(child) ? child.pid : undefined;
    },
    get running() {
      return isRunning(child);
    },
    get stopped() {
      return stopped;
    },
    get startupMs() {
      return startupMs;
    },
    log: () => output,
    start,
    waitReady,
    kill,
    async restart(opts = {}) {
      if (stopped) throw new Error(`${name}: restart after stop`);
      await kill(opts);
      if (opts.downMs) await delay(opts.downMs);
      await start();
    },
    signal(sig) {
      if (isRunning(child)) sendSignal(child, sig);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await kill();
      for (const dir of options.tempDirs ?? []) removeTempDir(dir);
    },
  };

  try {
    await start();
  } catch (err) {
    await handle.stop();
    throw err;
  }
  return handle;
}

/** The `stop`/`restart`/dispose trio most launchers return, backed by a {@link ServerProcess}. */
export interface Restartable extends AsyncDisposable {
  /** Stops the server (SIGTERM, then SIGKILL after the grace period) and deletes its data. Idempotent. */
  stop(): Promise<void>;
  /** Stops the server, waits `downMs` (default 0), starts it again on the same port and data. */
  restart(options?: { downMs?: number }): Promise<void>;
}

/** {@link Restartable} methods delegating to `proc`, to spread into a launcher's result. */
export function restartable(proc: ServerProcess): Restartable {
  return {
    stop: () => proc.stop(),
    restart: (opts) => proc.restart({ downMs: opts?.downMs }),
    [Symbol.asyncDispose]: () => proc.stop(),
  };
}
