import { canConnect, freePort, makeTempDir, restartable, spawnServer } from "./process.js";

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

/**
 * Starts `nats-server -a 127.0.0.1 -p <free port> [-js -sd <tmp>]` and resolves once it accepts TCP
 * connections (with JetStream: once it also logged "Server is ready", as its API answers only then).
 * The process is killed on `stop()` and when the test process exits.
 */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServer> {
  const port = await freePort();
  const storeDir = options.jetstream ? makeTempDir("microts-nats-") : undefined;
  const args = ["-a", "127.0.0.1", "-p", String(port)];
  if (storeDir) args.push("-js", "-sd", storeDir);
  const proc = await spawnServer({
    command: options.binary ?? process.env.NATS_SERVER_BIN ?? "/usr/sbin/nats-server",
    args,
    logName: "nats-server",
    startTimeoutMs: options.startTimeoutMs,
    tempDirs: storeDir ? [storeDir] : [],
    readyCheck: async (log) =>
      (await canConnect("127.0.0.1", port)) && (!storeDir || /Server is ready/.test(log)),
  });
  const server: NatsServer = {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    ...restartable(proc),
    kill: () => proc.kill(),
  };
  return server;
}
