import type { Broker } from "../broker/broker.js";
import { createMemoryBroker } from "../broker/memory-broker.js";
import type {
  Backoff,
  CallMiddleware,
  CallOptions,
  Client,
  ClientStream,
  PublishMiddleware,
  RetryPolicy,
} from "../client/client.js";
import type { RetryBudgetOptions } from "../client/retry.js";
import { createClient } from "../client/rpc-client.js";
import { createServiceClient } from "../client/service-client.js";
import type { Codec } from "../codec/codec.js";
import type { IoOptions } from "../context/call-options.js";
import { createConsoleLogger, type Logger } from "../logger/logger.js";
import { createMemoryRegistry } from "../registry/memory-registry.js";
import type { Registry } from "../registry/registry.js";
import type { Selector } from "../selector/selector.js";
import { createServer } from "../server/rpc-server.js";
import type {
  HandlerMiddleware,
  HandlerOptions,
  Server,
  SubscriberFunc,
  SubscriberMiddleware,
  SubscriberOptions,
} from "../server/server.js";
import { createMemoryTransport } from "../transport/memory-transport.js";
import type { Transport } from "../transport/transport.js";
import { readConfig, type ServiceConfig } from "./config.js";
import { defaultPlugins, loadPlugin, type PluginTable } from "./plugins.js";

/** A lifecycle hook; an error from a `before` hook aborts the step. */
export type Hook = () => void | Promise<void>;

/** Options for {@link createService}. Flags and `MICRO_*` variables override them at `init`. */
export interface ServiceOptions {
  /** Service name, the name callers use. Required. */
  name: string;
  /** Default `latest`. */
  version?: string | undefined;
  /** Node metadata. */
  metadata?: Record<string, string> | undefined;
  /** Server listen address. Default `127.0.0.1:0`. */
  address?: string | undefined;
  /** Address registered instead of the listener's. */
  advertise?: string | undefined;
  /** Instance id. Default: a random UUID. */
  id?: string | undefined;
  /**
   * Default: the configured one (`--registry`, `MICRO_REGISTRY`), else the mDNS registry
   * (`@microts/mdns`, loopback unless configured otherwise). Pass one memory registry to
   * several in-process services to let them meet without a network.
   */
  registry?: Registry | undefined;
  /** Default: the configured one (`--broker`, `MICRO_BROKER`), else the HTTP broker (`@microts/http`). */
  broker?: Broker | undefined;
  /** Default: the configured one (`--transport`, `MICRO_TRANSPORT`), else the HTTP transport (`@microts/http`). */
  transport?: Transport | undefined;
  /** Default: `createSelector({ registry })`. */
  selector?: Selector | undefined;
  /** Extra codecs for client and server. */
  codecs?: Codec[] | undefined;
  /** Registration TTL in ms. Default 90 000. */
  registerTtlMs?: number | undefined;
  /** Re-registration interval in ms. Default 30 000. */
  registerIntervalMs?: number | undefined;
  /** How long `stop` waits for in-flight work, in ms. Default 10 000. */
  drainTimeoutMs?: number | undefined;
  /** How long `stop` keeps serving after deregistering, in ms, so caches catch up. Default 0. */
  gracePeriodMs?: number | undefined;
  /** Requests handled at once before refusing with a retryable 503. Default 0: no limit. */
  maxInFlight?: number | undefined;
  /** Client defaults. */
  client?:
    | {
        timeoutMs?: number | undefined;
        retries?: number | undefined;
        retry?: RetryPolicy | undefined;
        backoff?: Backoff | undefined;
        contentType?: string | undefined;
        poolSize?: number | undefined;
        poolTtlMs?: number | undefined;
        retryBudget?: RetryBudgetOptions | false | undefined;
        middleware?: CallMiddleware[] | undefined;
        publishMiddleware?: PublishMiddleware[] | undefined;
      }
    | undefined;
  /** Server handler middleware, outermost first. */
  middleware?: HandlerMiddleware[] | undefined;
  /** Server subscriber middleware, outermost first. */
  subscriberMiddleware?: SubscriberMiddleware[] | undefined;
  /** Default: console logger named after the service, level from `MICRO_LOG_LEVEL` (info). */
  logger?: Logger | undefined;
  /** Plugins flags and environment can choose from. Default: {@link defaultPlugins}. */
  plugins?: PluginTable | undefined;
  beforeStart?: Hook[] | undefined;
  afterStart?: Hook[] | undefined;
  beforeStop?: Hook[] | undefined;
  afterStop?: Hook[] | undefined;
}

/** Options for {@link Service.init}. */
export interface InitOptions extends Partial<ServiceOptions> {
  /** Command-line arguments to read Go Micro's flags from. Default `process.argv.slice(2)`. */
  argv?: readonly string[] | undefined;
  /** Environment to read `MICRO_*` variables from. Default `process.env`. */
  env?: Record<string, string | undefined> | undefined;
}

/** Options for {@link Service.run}. */
export interface RunOptions {
  /** Stops the service when aborted (in addition to OS signals). */
  signal?: AbortSignal | undefined;
  /** OS signals that stop it. Default SIGINT, SIGTERM, SIGQUIT; a second one forces exit (code 1). */
  signals?: NodeJS.Signals[] | undefined;
}

/**
 * A service: server, client, registry, broker and transport wired together, Go Micro's
 * `micro.Service`. `run()` starts it and serves until a signal, then stops gracefully.
 */
export interface Service extends AsyncDisposable {
  readonly name: string;
  /** The effective options (after `init`). */
  readonly options: Readonly<ServiceOptions>;
  /** Calls other services as this service (stable across `init`). */
  readonly client: Client;
  /** The server (replaced by `init` when it changes the server's parts). */
  readonly server: Server;
  /**
   * Applies flags and `MICRO_*` variables, then `options`; loads the plugins they name. Called by
   * `start` with defaults when the program did not call it. Calling it after `start` throws.
   */
  init(options?: InitOptions): Promise<void>;
  /** Serves a handler class instance (see `Server.handle`). */
  handle<T extends object>(handler: T, options?: HandlerOptions<T>): this;
  /** Subscribes to a topic (see `Server.subscribe`). */
  subscribe<T>(topic: string, fn: SubscriberFunc<T>, options?: SubscriberOptions): this;
  start(options?: IoOptions): Promise<void>;
  stop(options?: IoOptions): Promise<void>;
  /** Starts, waits for a signal (or `options.signal`), stops. Resolves after the stop. */
  run(options?: RunOptions): Promise<void>;
  toString(): string;
}

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
          ? { name: defaultStack[kind], address: undefined }
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

/**
 * A server that forwards to whichever server the service currently has, recording handler and
 * subscriber registrations so a server rebuilt by `init` gets them too.
 */
function recordingServer(current: () => Server, record: (r: (server: Server) => void) => void): Server {
  return {
    get name() {
      return current().name;
    },
    get address() {
      return current().address;
    },
    get id() {
      return current().id;
    },
    newHandler: (instance, options) => current().newHandler(instance, options),
    newSubscriber: (topic, fn, options) => current().newSubscriber(topic, fn, options),
    handle: (handler, options) => record((s) => s.handle(handler, options)),
    handleFunction: (endpoint, fn, options) => record((s) => s.handleFunction(endpoint, fn, options)),
    subscribe: (topic, fn, options) => record((s) => s.subscribe(topic, fn, options)),
    start: (options) => current().start(options),
    stop: (options) => current().stop(options),
    register: (options) => current().register(options),
    deregister: (options) => current().deregister(options),
    endpoints: () => current().endpoints(),
  };
}

/**
 * A client that forwards to whichever client the service currently has, after the service has
 * resolved its parts (`ready`), so a program that only calls never talks to stand-ins.
 */
function delegatingClient(current: () => Client, ready: () => Promise<void>): Client {
  return {
    get name() {
      return current().name;
    },
    call: async (service, endpoint, body, options) => {
      await ready();
      return current().call(service, endpoint, body, options);
    },
    callRequest: async (request, options) => {
      await ready();
      return current().callRequest(request, options);
    },
    stream: <Res, Req>(service: string, endpoint: string, body?: Req, options?: CallOptions) =>
      lazyStream<Req, Res>(ready().then(() => current().stream<Res, Req>(service, endpoint, body, options))),
    publish: async (topic, payload, options) => {
      await ready();
      return current().publish(topic, payload, options);
    },
    publishMessage: async (message, options) => {
      await ready();
      return current().publishMessage(message, options);
    },
    newRequest: (service, endpoint, body, options) => current().newRequest(service, endpoint, body, options),
    newMessage: (topic, payload, options) => current().newMessage(topic, payload, options),
    service(service, handler, options) {
      return createServiceClient(this, service, handler, options);
    },
    close: () => current().close(),
  };
}

/** A stream whose every operation first waits for the real stream. */
function lazyStream<Req, Res>(inner: Promise<ClientStream<Req, Res>>): ClientStream<Req, Res> {
  inner.catch(() => {}); // surfaced by the first operation
  let request: ClientStream<Req, Res>["request"] | undefined;
  void inner.then((s) => {
    request = s.request;
  });
  return {
    get request() {
      if (!request) throw new Error("stream.request is available after the first operation");
      return request;
    },
    send: async (m) => (await inner).send(m),
    closeSend: async () => (await inner).closeSend(),
    recv: async () => (await inner).recv(),
    response: async () => (await inner).response(),
    close: async () => (await inner.catch(() => undefined))?.close(),
    async *[Symbol.asyncIterator]() {
      yield* await inner;
    },
    [Symbol.asyncDispose]: async () => (await inner.catch(() => undefined))?.close(),
  };
}
