import { createConnection } from "node:net";
import { join } from "node:path";
import { freePort, makeTempDir, restartable, spawnServer } from "./process.js";

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
  const dir = makeTempDir("microts-redis-");
  const appendOnly = options.appendOnly === false ? "no" : "yes";
  const proc = await spawnServer({
    command: options.binary ?? "redis-server",
    args: ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", appendOnly].concat([
      "--dir",
      dir,
      "--logfile",
      join(dir, "redis.log"),
    ]),
    logName: `redis-server on port ${port}`,
    startTimeoutMs: options.startTimeoutMs,
    tempDirs: [dir],
    readyCheck: () => ping(port),
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    ...restartable(proc),
  };
}

/** True when a RESP `PING` on the port answers `+PONG` within 1 s. */
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
