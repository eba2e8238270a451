import { createMemoryBroker } from "../broker/memory-broker.js";
import type { Client } from "../client/client.js";
import { createClient } from "../client/rpc-client.js";
import type { IoOptions } from "../context/call-options.js";
import { createConsoleLogger } from "../logger/logger.js";
import { createMemoryRegistry } from "../registry/memory-registry.js";
import type { Registry } from "../registry/registry.js";
import { createServer } from "../server/rpc-server.js";
import type { HandlerOptions, Server, SubscriberFunc, SubscriberOptions } from "../server/server.js";
import { createMemoryTransport } from "../transport/memory-transport.js";
import type { Transport } from "../transport/transport.js";
import { readConfig, type ServiceConfig } from "./config.js";
import { delegatingClient, recordingServer } from "./facades.js";
import { defaultPlugins, loadPlugin } from "./plugins.js";
import type { InitOptions, RunOptions, Service, ServiceOptions } from "./service.js";

/** What a service uses for a part that neither the code nor the configuration chose. */
const defaultStack = { registry: "mdns", broker: "http", transport: "http" } as const;

/** Creates a service. Nothing listens or connects until `start` or `run`. */
export function createService(options: ServiceOptions): Service {
  return new MicroService(options);
}

class MicroService implements Service {
  private opts: ServiceOptions;
  private inner!: { client: Client; server: Server };
  /** Every handler/subscriber registration, replayed onto a server rebuilt by `init`. */
  private readonly registrations: Array<(server: Server) => void> = [];
  private initialized = false;
  private initializing: Promise<void> | undefined;
  private readonly defaulted = new Set<"registry" | "broker" | "transport">();
  private starting: Promise<void> | undefined;
  private started = false;
  private readonly owned = new Set<unknown>();
  readonly client: Client;
  readonly server: Server;

  constructor(options: ServiceOptions) {
    if (!options.name) throw new TypeError("createService: name is required");
    this.opts = { ...options };
    this.fillDefaults();
    this.build();
    this.client = delegatingClient(
      () => this.inner.client,
      () => this.ready(),
    );
    this.server = recordingServer(
      () => this.inner.server,
      (r) => {
        this.registrations.push(r);
        r(this.inner.server);
      },
    );
  }

  get name(): string {
    return this.opts.name;
  }
  get options(): Readonly<ServiceOptions> {
    return this.opts;
  }

  /**
   * Until `init` resolves the real parts, memory stand-ins let the client and server be built;
   * `init` replaces every stand-in by the configured or default plugin.
   */
  private fillDefaults(): void {
    const o = this.opts;
    if (!o.registry) this.defaulted.add("registry");
    if (!o.broker) this.defaulted.add("broker");
    if (!o.transport) this.defaulted.add("transport");
    o.registry ??= this.own(createMemoryRegistry());
    o.broker ??= this.own(createMemoryBroker());
    o.transport ??= this.own(createMemoryTransport());
    o.logger ??= createConsoleLogger({ name: o.name });
  }

  private build(): void {
    const o = this.opts;
    const registry = o.registry as Registry;
    const client = createClient({
      transport: o.transport as Transport,
      registry,
      selector: o.selector,
      broker: o.broker,
      codecs: o.codecs,
      contentType: o.client?.contentType,
      timeoutMs: o.client?.timeoutMs,
      retries: o.client?.retries,
      retry: o.client?.retry,
      backoff: o.client?.backoff,
      pool: { size: o.client?.poolSize, ttlMs: o.client?.poolTtlMs },
      retryBudget: o.client?.retryBudget,
      middleware: o.client?.middleware,
      publishMiddleware: o.client?.publishMiddleware,
      logger: o.logger,
    });
    const server = createServer({
      name: o.name,
      version: o.version,
      id: o.id,
      address: o.address,
      advertise: o.advertise,
      metadata: o.metadata,
      transport: o.transport as Transport,
      registry,
      broker: o.broker,
      codecs: o.codecs,
      registerTtlMs: o.registerTtlMs,
      registerIntervalMs: o.registerIntervalMs,
      drainTimeoutMs: o.drainTimeoutMs,
      gracePeriodMs: o.gracePeriodMs,
      maxInFlight: o.maxInFlight,
      maxInFlightExempt: o.maxInFlightExempt,
      middleware: o.middleware,
      subscriberMiddleware: o.subscriberMiddleware,
      logger: o.logger,
    });
    for (const r of this.registrations) r(server);
    const old = this.inner?.client;
    this.inner = { client, server };
    if (old) void old.close();
  }

  async init(options: InitOptions = {}): Promise<void> {
    if (this.started || this.starting) throw new Error("init: the service is already running");
    const { argv = process.argv.slice(2), env = process.env, ...code } = options;
    const cfg = readConfig(argv, env);
    await this.apply(cfg);
    for (const [k, v] of Object.entries(code)) {
      if (v !== undefined) (this.opts as unknown as Record<string, unknown>)[k] = v;
    }
    this.initialized = true;
    this.build();
  }

  private async apply(cfg: ServiceConfig): Promise<void> {
    const o = this.opts;
    const plugins = o.plugins ?? defaultPlugins();
    if (cfg.name) o.name = cfg.name;
    if (cfg.version) o.version = cfg.version;
    if (cfg.id) o.id = cfg.id;
    if (cfg.address) o.address = cfg.address;
    if (cfg.advertise) o.advertise = cfg.advertise;
    if (cfg.metadata) o.metadata = { ...(o.metadata ?? {}), ...cfg.metadata };
    if (cfg.registerTtlMs !== undefined) o.registerTtlMs = cfg.registerTtlMs;
    if (cfg.registerIntervalMs !== undefined) o.registerIntervalMs = cfg.registerIntervalMs;
    const c = { ...(o.client ?? {}) };
    if (cfg.clientTimeoutMs !== undefined) c.timeoutMs = cfg.clientTimeoutMs;
    if (cfg.clientRetries !== undefined) c.retries = cfg.clientRetries;
    if (cfg.clientPoolSize !== undefined) c.poolSize = cfg.clientPoolSize;
    if (cfg.clientPoolTtlMs !== undefined) c.poolTtlMs = cfg.clientPoolTtlMs;
    o.client = c;
    // Parts the code did not pass come from the configuration, else from the default stack:
    // mDNS registry, HTTP transport and HTTP broker (no server needed).
    const pick = (
      kind: "registry" | "broker" | "transport",
      chosen: { name: string; address?: string | undefined } | undefined,
    ) =>
      chosen?.name
        ? chosen
        : this.defaulted.has(kind)
          ? // An address without a name (`--registry_address` alone) is the default plugin's, as in Go.
            { name: defaultStack[kind], address: chosen?.address }
          : undefined;
    const registry = pick("registry", cfg.registry);
    if (registry) {
      o.registry = this.own(
        await loadPlugin(plugins, "registry", registry.name, { address: registry.address }),
      );
      o.selector = undefined;
    }
    const broker = pick("broker", cfg.broker);
    if (broker) {
      o.broker = this.own(
        await loadPlugin(plugins, "broker", broker.name, { address: broker.address, registry: o.registry }),
      );
    }
    const transport = pick("transport", cfg.transport);
    if (transport) {
      o.transport = this.own(
        await loadPlugin(plugins, "transport", transport.name, {
          address: transport.address,
          registry: o.registry,
        }),
      );
    }
    this.defaulted.clear();
  }

  /** Marks a part this service created, so `stop` closes it. */
  private own<T>(part: T): T {
    this.owned.add(part);
    return part;
  }

  handle<T extends object>(handler: T, options?: HandlerOptions<T>): this {
    this.server.handle(handler, options);
    return this;
  }

  subscribe<T>(topic: string, fn: SubscriberFunc<T>, options?: SubscriberOptions): this {
    this.server.subscribe(topic, fn, options);
    return this;
  }

  /** Runs `init` once with defaults when the program did not call it. */
  private ready(): Promise<void> {
    if (this.initialized) return Promise.resolve();
    this.initializing ??= this.init().finally(() => {
      this.initializing = undefined;
    });
    return this.initializing;
  }

  start(options: IoOptions = {}): Promise<void> {
    // Concurrent callers share one start; a failed start can be retried.
    this.starting ??= this.doStart(options).catch((err: unknown) => {
      this.starting = undefined;
      throw err;
    });
    return this.starting;
  }

  private async doStart(options: IoOptions): Promise<void> {
    await this.ready();
    for (const h of this.opts.beforeStart ?? []) await h();
    await this.inner.server.start(options);
    this.started = true;
    for (const h of this.opts.afterStart ?? []) await h();
  }

  async stop(options: IoOptions = {}): Promise<void> {
    if (this.starting) await this.starting.catch(() => {});
    if (!this.started) return;
    this.started = false;
    this.starting = undefined;
    for (const h of this.opts.beforeStop ?? []) await h();
    await this.inner.server.stop(options);
    await this.inner.client.close();
    await this.opts.broker?.disconnect();
    // Close what this service created itself; shared instances belong to whoever passed them.
    if (this.owned.has(this.opts.registry)) await this.opts.registry?.close();
    if (this.owned.has(this.opts.transport)) await this.opts.transport?.close();
    for (const h of this.opts.afterStop ?? []) await h();
  }

  async run(options: RunOptions = {}): Promise<void> {
    await this.start();
    const signals = options.signals ?? ["SIGINT", "SIGTERM", "SIGQUIT"];
    // Keeps the event loop alive while serving even when no transport holds a socket open.
    const keepAlive = setInterval(() => {}, 1 << 30);
    let received = 0;
    let onSignal: ((sig: NodeJS.Signals) => void) | undefined;
    try {
      await new Promise<void>((resolve) => {
        onSignal = (sig) => {
          received++;
          if (received > 1) {
            this.opts.logger?.warn(`received ${sig} again: exiting now`);
            process.exit(1);
          }
          this.opts.logger?.info(`received ${sig}: stopping`);
          resolve();
        };
        for (const s of signals) process.on(s, onSignal);
        if (options.signal?.aborted) resolve();
        options.signal?.addEventListener("abort", () => resolve(), { once: true });
      });
      // Signal listeners stay during the stop, so a second signal forces exit.
      await this.stop();
    } finally {
      clearInterval(keepAlive);
      if (onSignal) for (const s of signals) process.off(s, onSignal);
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  toString(): string {
    return "micro";
  }
}
