import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Options for {@link startMosquitto}. */
export interface MosquittoOptions {
  /** Loopback port. Default: a free port chosen by the OS. */
  port?: number;
  /** Persist sessions and queued messages in the temp dir (written on shutdown). Default true. */
  persistence?: boolean;
  /** The `mosquitto` binary. Default "mosquitto" (from PATH, or /usr/sbin/mosquitto). */
  binary?: string;
  /** Time to wait for the listener, in milliseconds. Default 10 000. */
  startTimeoutMs?: number;
}

/** A mosquitto owned by one test: loopback only, anonymous, data in a temp dir, killed on stop/exit. */
export interface MosquittoServer extends AsyncDisposable {
  /** `mqtt://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** Stops the broker and deletes its data. Idempotent. */
  stop(): Promise<void>;
  /** Stops (SIGTERM: persistence is written), waits `downMs` (default 0), starts again on the same port. */
  restart(options?: { downMs?: number }): Promise<void>;
}

/** Starts a private mosquitto on a free loopback port: `{ url, port, stop(), restart() }`. */
export async function startMosquitto(options: MosquittoOptions = {}): Promise<MosquittoServer> {
  const port = options.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), "microts-mosquitto-"));
  const binary = options.binary ?? "/usr/sbin/mosquitto";
  const startTimeoutMs = options.startTimeoutMs ?? 10_000;
  const conf = join(dir, "mosquitto.conf");
  const lines = [
    `listener ${port} 127.0.0.1`,
    "allow_anonymous true",
    `persistence ${options.persistence === false ? "false" : "true"}`,
    `persistence_location ${dir}/`,
    "autosave_interval 1",
    "log_dest none",
  ];
  // As root, mosquitto drops to the "mosquitto" user, who could not write our temp dir.
  if (process.getuid?.() === 0) lines.push("user root");
  writeFileSync(conf, `${lines.join("\n")}\n`);

  let child: ChildProcess | undefined;
  let stopped = false;
  const onExit = () => child?.kill("SIGKILL");
  process.once("exit", onExit);

  const start = async () => {
    child = spawn(binary, ["-c", conf], { stdio: "ignore" });
    child.on("error", () => {});
    await waitFor(() => canConnect(port), startTimeoutMs, `mosquitto on port ${port} did not start`);
  };
  const kill = async () => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => c.once("exit", () => resolve()));
    c.kill("SIGTERM");
    const t = setTimeout(() => c.kill("SIGKILL"), 5_000);
    await exited;
    clearTimeout(t);
  };
  await start();

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await kill();
    process.removeListener("exit", onExit);
    rmSync(dir, { recursive: true, force: true });
  };
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    dir,
    stop,
    async restart(opts = {}) {
      if (stopped) throw new Error("mosquitto: restart after stop");
      await kill();
      if (opts.downMs) await new Promise((r) => setTimeout(r, opts.downMs));
      await start();
    },
    [Symbol.asyncDispose]: stop,
  };
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
    const sock = createConnection({ host: "127.0.0.1", port });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(1_000, () => done(false));
    sock.on("error", () => done(false));
    sock.on("connect", () => done(true));
  });
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} within ${timeoutMs}ms`);
}
