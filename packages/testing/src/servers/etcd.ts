import { readFileSync, rmSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { delay, freePorts, makeTempDir, spawnServer } from "./process.js";

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
  const [port = 0, peerPort = 0] = await freePorts(2);
  const url = `http://127.0.0.1:${port}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const base = makeTempDir("microts-etcd-");
  const dataDir = join(base, "data");
  const proc = await spawnServer({
    command: binary,
    args: [
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
    ],
    logName: `etcd launcher: ${binary}`,
    startTimeoutMs: options.startTimeoutMs ?? 20_000,
    stopGraceMs: 3_000,
    tempDirs: [base],
    readyCheck: () => healthy(url),
  });

  return {
    address: `127.0.0.1:${port}`,
    url,
    port,
    dataDir,
    stop: () => proc.kill(),
    start: () => proc.start(),
    async restart(opts: EtcdRestartOptions = {}) {
      await proc.kill();
      if (opts.downMs) await delay(opts.downMs);
      if (opts.wipe) rmSync(dataDir, { recursive: true, force: true });
      await proc.start();
    },
    async pause() {
      const pid = proc.pid;
      if (pid === undefined) throw new Error("etcd launcher: pause() while not running");
      proc.signal("SIGSTOP");
      for (let i = 0; i < 40; i++) {
        const state = processState(pid);
        if (state === "T" || state === "?") return;
        await delay(25);
      }
      throw new Error(`etcd launcher: process ${pid} did not stop`);
    },
    resume() {
      proc.signal("SIGCONT");
    },
    [Symbol.asyncDispose]: () => proc.stop(),
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
