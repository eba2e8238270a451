import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { canConnect, freePort, makeTempDir, restartable, spawnServer } from "./process.js";

/** Options for {@link startMosquitto}. */
export interface MosquittoOptions {
  /** Loopback port. Default: a free port chosen by the OS. */
  port?: number;
  /** Persist sessions and queued messages in the temp dir (written on shutdown). Default true. */
  persistence?: boolean;
  /** The `mosquitto` binary. Default "/usr/sbin/mosquitto". */
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
  const dir = makeTempDir("microts-mosquitto-");
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

  const proc = await spawnServer({
    command: options.binary ?? "/usr/sbin/mosquitto",
    args: ["-c", conf],
    logName: `mosquitto on port ${port}`,
    startTimeoutMs: options.startTimeoutMs,
    tempDirs: [dir],
    readyCheck: () => canConnect("127.0.0.1", port),
  });
  const server: MosquittoServer = {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    dir,
    ...restartable(proc),
  };
  return server;
}
