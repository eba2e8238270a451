import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Options for {@link startEtcd}. */
export interface StartEtcdOptions {
  /** The etcd binary. Default: `$ETCD_BIN`, else `etcd` on the PATH (Debian's `etcd-server`). */
  binary?: string;
  /** How long to wait for the server to answer `/health`, in milliseconds. Default 20000. */
  startTimeoutMs?: number;
  /** Extra command-line flags, e.g. `["--auto-compaction-retention=1"]`. Default none. */
  args?: string[];
}

/** Options for {@link EtcdServer.restart}. */
export interface EtcdRestartOptions {
  /** How long the server stays down between stop and start, in milliseconds. Default 0. */
  downMs?: number;
  /**
   * Start with an empty data directory (a new cluster: every key, lease and revision is gone).
   * Default false: the data directory is kept, so keys and leases survive as in a real restart.
   */
  wipe?: boolean;
}

/** A private etcd process on free loopback ports, with its data in a temporary directory. */
export interface EtcdServer {
  /** `127.0.0.1:<port>`: the client address. */
  readonly address: string;
  /** `http://127.0.0.1:<port>`: the client URL (the JSON gateway lives under `/v3/`). */
  readonly url: string;
  /** The client port. */
  readonly port: number;
  /** The data directory (kept across stop/start/restart, removed on dispose). */
  readonly dataDir: string;
  /** Stops the process (SIGTERM, then SIGKILL after 3 s); the data directory is kept. Idempotent. */
  stop(): Promise<void>;
  /** Starts the process again on the same ports and data directory; resolves once it is healthy. */
  start(): Promise<void>;
  /** `stop()` then `start()` on the same ports. */
  restart(options?: EtcdRestartOptions): Promise<void>;
  /**
   * Freezes the process (SIGSTOP): its sockets stay open but nothing answers. Resolves once the
   * kernel reports it stopped (Linux `/proc`; elsewhere after 50 ms).
   */
  pause(): Promise<void>;
  /** Undoes {@link pause} (SIGCONT). */
  resume(): void;
  /** Stops the process and removes the data directory. Idempotent. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Starts etcd on two free loopback ports (client and peer), as a one-member cluster named
 * `default`, with its data in a new temporary directory. The process is killed when the test
 * process exits. Rejects when the binary is missing or the server is not healthy in time.
 */
export async function startEtcd(options: StartEtcdOptions = {}): Promise<EtcdServer> {
  const binary = options.binary ?? process.env.ETCD_BIN ?? "etcd";
  const startTimeoutMs = options.startTimeoutMs ?? 20_000;
  const [port = 0, peerPort = 0] = await freePorts(2);
  const url = `http://127.0.0.1:${port}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const base = mkdtempSync(join(tmpdir(), "microts-etcd-"));
  const dataDir = join(base, "data");
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let disposed = false;
  const killOnExit = () => {
    child?.kill("SIGKILL");
    rmSync(base, { recursive: true, force: true });
  };
  process.on("exit", killOnExit);

  const start = async (): Promise<void> => {
    if (disposed) throw new Error("etcd launcher: already disposed");
    if (child) return;
    const args = [
      "--name=default",
      `--data-dir=${dataDir}`,
      `--listen-client-urls=${url}`,
      `--advertise-client-urls=${url}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=default=${peerUrl}`,
      "--logger=zap",
      "--log-outputs=stderr",
      "--log-level=error",
      ...(options.args ?? []),
    ];
    const proc = spawn(binary, args, { stdio: ["ignore", "ignore", "pipe"] });
    child = proc;
    let log = "";
    proc.stderr?.on("data", (d: Buffer) => {
      log = (log + d.toString()).slice(-4000);
    });
    let spawnError: Error | undefined;
    let hasExited = false;
    exited = new Promise<void>((resolve) => {
      proc.once("error", (e) => {
        spawnError = e;
        hasExited = true;
        resolve();
      });
      proc.once("exit", () => {
        hasExited = true;
        resolve();
      });
    });
    const deadline = Date.now() + startTimeoutMs;
    while (Date.now() < deadline) {
      if (hasExited) break;
      if (await healthy(url)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    const why = spawnError
      ? spawnError.message
      : hasExited
        ? "exited"
        : `not healthy after ${startTimeoutMs}ms`;
    await stop();
    throw new Error(`etcd launcher: ${binary} ${why}; log tail:\n${log}`);
  };

  const stop = async (): Promise<void> => {
    const proc = child;
    if (!proc) return;
    child = undefined;
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill("SIGCONT");
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), 3000);
      await exited;
      clearTimeout(timer);
    }
  };

  await start();
  return {
    address: `127.0.0.1:${port}`,
    url,
    port,
    dataDir,
    stop,
    start,
    async restart(opts: EtcdRestartOptions = {}) {
      await stop();
      if (opts.downMs) await new Promise((r) => setTimeout(r, opts.downMs));
      if (opts.wipe) rmSync(dataDir, { recursive: true, force: true });
      await start();
    },
    async pause() {
      const proc = child;
      if (!proc?.pid) throw new Error("etcd launcher: pause() while not running");
      proc.kill("SIGSTOP");
      for (let i = 0; i < 40; i++) {
        const state = processState(proc.pid);
        if (state === "T" || state === "?") return;
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error(`etcd launcher: process ${proc.pid} did not stop`);
    },
    resume() {
      child?.kill("SIGCONT");
    },
    async [Symbol.asyncDispose]() {
      if (disposed) return;
      await stop();
      disposed = true;
      process.off("exit", killOnExit);
      rmSync(base, { recursive: true, force: true });
    },
  };
}

/** The state letter of a process from /proc (T: stopped), or "?" when unknown. */
function processState(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  } catch {
    return "?";
  }
}

/** True when etcd answers `GET /health` with `"health":"true"` within 1 s. */
function healthy(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(`${url}/health`, { timeout: 1000, agent: false }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => {
        body += d.toString();
      });
      res.on("end", () => resolve(res.statusCode === 200 && body.includes('"true"')));
      res.on("error", () => resolve(false));
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(false));
    req.end();
  });
}

/** `n` distinct free TCP ports on 127.0.0.1 (held open together so they differ). */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const s = createServer();
          s.once("error", reject);
          s.listen(0, "127.0.0.1", () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => {
    const a = s.address();
    if (a === null || typeof a === "string") throw new Error("etcd launcher: no port");
    return a.port;
  });
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}
