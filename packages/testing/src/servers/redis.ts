import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Options for {@link startRedisServer}. */
export interface RedisServerOptions {
  /** Loopback port. Default: a free port chosen by the OS. */
  port?: number;
  /** Append-only file persistence, so streams and consumer groups survive `restart()`. Default true. */
  appendOnly?: boolean;
  /** The `redis-server` binary. Default "redis-server" (from PATH). */
  binary?: string;
  /** Time to wait for the server to answer PING, in milliseconds. Default 10 000. */
  startTimeoutMs?: number;
}

/** A redis-server owned by one test: loopback only, data in a temp dir, killed on stop and on exit. */
export interface RedisServer extends AsyncDisposable {
  /** `redis://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  /** The data directory (the AOF lives here). */
  readonly dir: string;
  /** Stops the server (SIGTERM: the AOF is flushed) and deletes its data. Idempotent. */
  stop(): Promise<void>;
  /** Stops the server (SIGTERM), waits `downMs` (default 0), starts it again on the same port and data. */
  restart(options?: { downMs?: number }): Promise<void>;
}

/** Starts a private redis-server on a free loopback port: `{ url, port, stop(), restart() }`. */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const port = options.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), "microts-redis-"));
  const binary = options.binary ?? "redis-server";
  const startTimeoutMs = options.startTimeoutMs ?? 10_000;
  const args = [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    options.appendOnly === false ? "no" : "yes",
    "--dir",
    dir,
    "--logfile",
    join(dir, "redis.log"),
  ];
  let child: ChildProcess | undefined;
  let stopped = false;
  const onExit = () => child?.kill("SIGKILL");
  process.once("exit", onExit);

  const start = async () => {
    child = spawn(binary, args, { stdio: "ignore" });
    child.on("error", () => {});
    await waitFor(() => ping(port), startTimeoutMs, `redis-server on port ${port} did not start`);
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
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    stop,
    async restart(opts = {}) {
      if (stopped) throw new Error("redis-server: restart after stop");
      await kill();
      if (opts.downMs) await new Promise((r) => setTimeout(r, opts.downMs));
      await start();
    },
    [Symbol.asyncDispose]: stop,
  };
}

/** A port that was free a moment ago on 127.0.0.1. */
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

/** True when a RESP `PING` on the port answers `+PONG`. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ host: "127.0.0.1", port });
    let data = "";
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(1_000, () => done(false));
    sock.on("error", () => done(false));
    sock.on("connect", () => sock.write("PING\r\n"));
    sock.on("data", (b) => {
      data += b.toString();
      if (data.includes("\r\n")) done(data.startsWith("+PONG"));
    });
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
