import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Options for {@link startNatsServer}. */
export interface NatsServerOptions {
  /** Enable JetStream (`-js`) with file storage in a temp dir that survives `restart`. Default false. */
  jetstream?: boolean;
  /** The nats-server binary. Default `/usr/sbin/nats-server` (env `NATS_SERVER_BIN` overrides). */
  binary?: string;
  /** Time to wait for the server to accept connections, in ms. Default 10 000. */
  startTimeoutMs?: number;
}

/** A nats-server started for a test, on a free loopback port. */
export interface NatsServer extends AsyncDisposable {
  /** `nats://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  /** The JetStream storage directory, when enabled. */
  readonly storeDir: string | undefined;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s) and deletes its data. Idempotent. */
  stop(): Promise<void>;
  /** Stops the process and starts it again on the same port, keeping the JetStream data. */
  restart(options?: { downMs?: number }): Promise<void>;
  /** Kills the process without a restart (the data stays until `stop`). */
  kill(): Promise<void>;
}

const live = new Set<ChildProcess>();
let exitHooked = false;

/**
 * Starts `nats-server -a 127.0.0.1 -p <free port> [-js -sd <tmp>]` and resolves once it accepts TCP
 * connections. The process is killed on `stop()` and when the test process exits.
 */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServer> {
  const binary = options.binary ?? process.env.NATS_SERVER_BIN ?? "/usr/sbin/nats-server";
  const port = await freePort();
  const storeDir = options.jetstream ? mkdtempSync(join(tmpdir(), "microts-nats-")) : undefined;
  const args = ["-a", "127.0.0.1", "-p", String(port)];
  if (storeDir) args.push("-js", "-sd", storeDir);
  const startTimeoutMs = options.startTimeoutMs ?? 10_000;
  hookExit();

  let proc: ChildProcess | undefined;
  let stopped = false;

  const launch = async () => {
    const p = spawn(binary, args, { stdio: ["ignore", "ignore", "pipe"] });
    let log = "";
    p.stderr?.on("data", (b: Buffer) => {
      if (log.length < 20_000) log += b.toString();
    });
    live.add(p);
    p.once("exit", () => live.delete(p));
    proc = p;
    const deadline = Date.now() + startTimeoutMs;
    while (!(await canConnect(port))) {
      if (p.exitCode !== null || p.signalCode !== null) {
        throw new Error(`nats-server exited (${p.exitCode ?? p.signalCode}): ${log.slice(-2_000)}`);
      }
      if (Date.now() > deadline) {
        p.kill("SIGKILL");
        throw new Error(
          `nats-server did not start on port ${port} within ${startTimeoutMs}ms: ${log.slice(-2_000)}`,
        );
      }
      await delay(50);
    }
    if (storeDir) {
      // JetStream needs a moment after the listener is up before its API answers.
      while (!/Server is ready/.test(log) && Date.now() < deadline) await delay(20);
    }
  };

  const kill = async () => {
    const p = proc;
    proc = undefined;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => p.once("exit", () => resolve()));
    p.kill("SIGTERM");
    const t = setTimeout(() => p.kill("SIGKILL"), 5_000);
    await exited;
    clearTimeout(t);
  };

  await launch();
  const server: NatsServer = {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    async stop() {
      if (stopped) return;
      stopped = true;
      await kill();
      if (storeDir) rmSync(storeDir, { recursive: true, force: true });
    },
    async restart(opts = {}) {
      if (stopped) throw new Error("nats-server: restart after stop");
      await kill();
      if (opts.downMs) await delay(opts.downMs);
      await launch();
    },
    kill,
    [Symbol.asyncDispose]() {
      return server.stop();
    },
  };
  return server;
}

function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.once("exit", () => {
    for (const p of live) p.kill("SIGKILL");
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: "127.0.0.1", port });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
