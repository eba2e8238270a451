import type { Broker } from "../broker/broker.js";
import type { Backoff, CallMiddleware, Client, PublishMiddleware, RetryPolicy } from "../client/client.js";
import type { RetryBudgetOptions } from "../client/retry.js";
import type { Codec } from "../codec/codec.js";
import type { IoOptions } from "../context/call-options.js";
import type { Logger } from "../logger/logger.js";
import type { Registry } from "../registry/registry.js";
import type { Selector } from "../selector/selector.js";
import type {
  HandlerMiddleware,
  HandlerOptions,
  Server,
  SubscriberFunc,
  SubscriberMiddleware,
  SubscriberOptions,
} from "../server/server.js";
import type { Transport } from "../transport/transport.js";
import { defaultPlugins, type PluginTable } from "./plugins.js";

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
  /** Endpoints served even beyond `maxInFlight` (health checks). Default none. */
  maxInFlightExempt?: string[] | undefined;
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
