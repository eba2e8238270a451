import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Options for {@link startRabbitmqServer}. */
export interface RabbitmqServerOptions {
  /** Directory of RabbitMQ's scripts. Default `/usr/lib/rabbitmq/bin` (Debian's package). */
  binDir?: string;
  /** How long to wait for the node to accept AMQP connections, in ms. Default 60 000. */
  startTimeoutMs?: number;
}

/** A RabbitMQ node started for a test, on free loopback ports, with its data in a temp dir. */
export interface RabbitmqServer extends AsyncDisposable {
  /** `amqp://guest:guest@127.0.0.1:<port>`. */
  readonly url: string;
  /** The AMQP port (loopback). */
  readonly port: number;
  /** The Erlang node name, `micro-test-<random>@localhost`, for `rabbitmqctl -n`. */
  readonly nodeName: string;
  /** Milliseconds the last (re)start took until the node accepted AMQP connections. */
  readonly lastStartupMs: number;
  /** Runs `rabbitmqctl -n <node> <args...>` and resolves with its stdout. */
  ctl(...args: string[]): Promise<string>;
  /** Stops the RabbitMQ application (closing every client connection); the Erlang VM keeps running. */
  stopApp(): Promise<void>;
  /** Starts the application again after {@link stopApp}. Durable queues and persistent messages survive. */
  startApp(): Promise<void>;
  /**
   * Stops the process (SIGTERM, then SIGKILL after 15 s, or straight SIGKILL with `hard`) and starts it
   * again on the same ports and data directory, so durable state survives.
   */
  restart(options?: { hard?: boolean }): Promise<void>;
  /** Stops the node and deletes its data. Idempotent. */
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    // detached: the child leads its own process group (the sh script, erl and beam.smp).
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
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
    sock.once("connect", () => done(true));
    sock.once("error", () => done(false));
    sock.setTimeout(1000, () => done(false));
  });
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts a private RabbitMQ node (`rabbitmq-server`) for tests that stop or restart the broker, so
 * the machine's shared RabbitMQ on 5672 is never touched. The node listens on a free loopback AMQP
 * port and a free loopback distribution port, named `micro-test-<random>@localhost`, with no plug-ins
 * (management disabled), its Mnesia and log directories and its Erlang cookie in a temp dir. It is
 * killed on `stop()`, on disposal, and on process exit. Startup takes about 3-5 s on a 2-core machine.
 * Throws when the node does not accept connections within `startTimeoutMs`.
 */
export async function startRabbitmqServer(options: RabbitmqServerOptions = {}): Promise<RabbitmqServer> {
  const binDir = options.binDir ?? "/usr/lib/rabbitmq/bin";
  const startTimeoutMs = options.startTimeoutMs ?? 60_000;
  const server = join(binDir, "rabbitmq-server");
  const ctlPath = join(binDir, "rabbitmqctl");
  if (!existsSync(server)) throw new Error(`rabbitmq-server not found at ${server}`);

  const dir = await mkdtemp(join(tmpdir(), "micro-rabbitmq-"));
  const port = await freePort();
  let distPort = await freePort();
  while (distPort === port) distPort = await freePort();
  const nodeName = `micro-test-${Math.random().toString(36).slice(2, 10)}@localhost`;
  const loopbackDist = "-kernel inet_dist_use_interface {127,0,0,1}";
  await writeFile(join(dir, "rabbitmq-env.conf"), "");
  await writeFile(join(dir, "rabbitmq.conf"), `listeners.tcp.default = 127.0.0.1:${port}\n`);
  await writeFile(join(dir, "enabled_plugins"), "[].\n");
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    // The Erlang cookie lives in $HOME; a private HOME gives server and CLI the same fresh cookie.
    HOME: dir,
    // An empty env file: /etc/rabbitmq/rabbitmq-env.conf names the shared node and must not apply.
    RABBITMQ_CONF_ENV_FILE: join(dir, "rabbitmq-env.conf"),
    RABBITMQ_CONFIG_FILE: join(dir, "rabbitmq.conf"),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, "enabled_plugins"),
    RABBITMQ_NODENAME: nodeName,
    RABBITMQ_NODE_IP_ADDRESS: "127.0.0.1",
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: join(dir, "mnesia"),
    RABBITMQ_LOG_BASE: join(dir, "log"),
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: loopbackDist,
    RABBITMQ_CTL_ERL_ARGS: loopbackDist,
    ERL_EPMD_ADDRESS: "127.0.0.1",
  };

  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once("exit", () => {
      for (const c of live) killGroup(c, "SIGKILL");
    });
  }

  let child: ChildProcess | undefined;
  let output = "";
  let lastStartupMs = 0;
  let stopped = false;

  const ctl = (...args: string[]): Promise<string> =>
    new Promise((resolve, reject) => {
      execFile(ctlPath, ["-q", "-n", nodeName, ...args], { env, timeout: 60_000 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`rabbitmqctl ${args.join(" ")}: ${err.message}\n${stderr}`));
        else resolve(stdout);
      });
    });

  const waitUp = async (started: number) => {
    const deadline = started + startTimeoutMs;
    while (Date.now() < deadline) {
      if (child && (child.exitCode !== null || child.signalCode !== null)) {
        throw new Error(`rabbitmq-server exited during startup:\n${output.slice(-2000)}`);
      }
      if (await canConnect(port)) {
        await ctl("await_startup");
        lastStartupMs = Date.now() - started;
        return;
      }
      await pause(200);
    }
    throw new Error(`rabbitmq-server did not start within ${startTimeoutMs}ms:\n${output.slice(-2000)}`);
  };

  const launch = async () => {
    const started = Date.now();
    output = "";
    const c = spawn(server, [], { env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    child = c;
    live.add(c);
    const keep = (b: Buffer) => {
      output = (output + b.toString()).slice(-20_000);
    };
    c.stdout?.on("data", keep);
    c.stderr?.on("data", keep);
    c.once("exit", () => live.delete(c));
    try {
      await waitUp(started);
    } catch (err) {
      await kill(true);
      throw err;
    }
  };

  const kill = async (hard: boolean) => {
    const c = child;
    if (!c) return;
    const running = c.exitCode === null && c.signalCode === null;
    const exited = running ? new Promise<void>((resolve) => c.once("exit", () => resolve())) : undefined;
    killGroup(c, hard ? "SIGKILL" : "SIGTERM");
    const timer = setTimeout(() => killGroup(c, "SIGKILL"), 15_000);
    await exited;
    clearTimeout(timer);
    // beam.smp may outlive the wrapper script for a moment: make sure the whole group is gone.
    killGroup(c, "SIGKILL");
    live.delete(c);
    while (await canConnect(port)) await pause(100);
  };

  try {
    await launch();
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await kill(false);
    await rm(dir, { recursive: true, force: true });
  };

  return {
    url: `amqp://guest:guest@127.0.0.1:${port}`,
    port,
    nodeName,
    get lastStartupMs() {
      return lastStartupMs;
    },
    ctl,
    async stopApp() {
      await ctl("stop_app");
    },
    async startApp() {
      const started = Date.now();
      await ctl("start_app");
      await waitUp(started);
    },
    async restart(opts = {}) {
      if (stopped) throw new Error("rabbitmq server is stopped");
      await kill(opts.hard === true);
      await launch();
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
