import type { Broker, Subscriber } from "../broker/broker.js";
import type { Codec } from "../codec/codec.js";
import { codecFor } from "../codec/codecs.js";
import type { IoOptions } from "../context/call-options.js";
import { type Context, runWithContext } from "../context/context.js";
import { MicroError } from "../errors/micro-error.js";
import { DeadlineTimer } from "../internal/deadline-timer.js";
import { sleep } from "../internal/signals.js";
import { createConsoleLogger, type Logger } from "../logger/logger.js";
import { Metadata } from "../metadata/metadata.js";
import type { Endpoint, Registry, Service } from "../registry/registry.js";
import { type Envelope, jsonRpcEnvelope } from "../rpc/envelope.js";
import { getHeader, Header } from "../rpc/headers.js";
import type { Listener, Message, Socket, Transport } from "../transport/transport.js";
import { ActiveRequests } from "./active-requests.js";
import { Connection, type ServingHost } from "./connection.js";
import { createHandler, fromMethods } from "./handler.js";
import { Inflight } from "./inflight.js";
import { Router } from "./router.js";
import type {
  EndpointSpec,
  Handler,
  HandlerMethod,
  HandlerMiddleware,
  HandlerOptions,
  Server,
  ServerSubscriber,
  StreamKind,
  SubscriberCall,
  SubscriberFunc,
  SubscriberMiddleware,
  SubscriberOptions,
} from "./server.js";
import { createSubscriber } from "./subscriber.js";

/** Options for {@link createServer}. */
export interface ServerOptions {
  /** Service name registered. Default `go.micro.server` (Go's default). */
  name?: string | undefined;
  /** Version registered. Default `latest`. */
  version?: string | undefined;
  /** Unique id of this instance; the node id is `<name>-<id>`. Default: a random UUID. */
  id?: string | undefined;
  /**
   * Listen address. Default `127.0.0.1:0` (loopback, any port): micro-ts serves only this machine
   * until told otherwise. Use `0.0.0.0:<port>` (with `advertise`) to serve other hosts.
   */
  address?: string | undefined;
  /** Address to register instead of the listener's (e.g. behind NAT). Default: the listener's. */
  advertise?: string | undefined;
  /** Node metadata merged into the registered record. */
  metadata?: Record<string, string> | undefined;
  transport: Transport;
  registry: Registry;
  /** Needed for subscribers. */
  broker?: Broker | undefined;
  /** Extra codecs (JSON and bytes are always there). */
  codecs?: Iterable<Codec> | undefined;
  /** Registration time to live, in milliseconds. Default 90 000 (Go's DefaultRegisterTTL). */
  registerTtlMs?: number | undefined;
  /** Re-registration interval, in milliseconds; keep it below the TTL. Default 30 000. */
  registerIntervalMs?: number | undefined;
  /** How long `stop` waits for in-flight requests, in milliseconds. Default 10 000. */
  drainTimeoutMs?: number | undefined;
  /**
   * How long `stop` keeps serving normally after deregistering, in milliseconds, so that callers'
   * registry caches drop this node before it refuses work. Default 0.
   */
  gracePeriodMs?: number | undefined;
  /**
   * Requests (and streams) handled at once; beyond it a request is refused at once with a
   * retryable 503 "server overloaded" (it never reaches a handler, so callers may retry it on
   * another node). Default 0: no limit.
   */
  maxInFlight?: number | undefined;
  /** Endpoints served even beyond `maxInFlight` (health checks, say): `["Health.Check"]`. Default none. */
  maxInFlightExempt?: string[] | undefined;
  /** Handler middleware, outermost first. */
  middleware?: HandlerMiddleware[] | undefined;
  /** Subscriber middleware, outermost first. */
  subscriberMiddleware?: SubscriberMiddleware[] | undefined;
  /**
   * Legacy envelopes unwrapped from requests without routing headers, as Go Micro's server does.
   * Default: JSON-RPC ({@link jsonRpcEnvelope}); add `protoRpcEnvelope()` from
   * `@microts/protobuf` for proto-RPC clients.
   */
  envelopes?: Envelope[] | undefined;
  /** Default: a console logger named after the service. */
  logger?: Logger | undefined;
}

const ID = "go.micro.server";

/**
 * The RPC server ("mucp"): serves Go Micro's wire protocol over any Transport. Unary requests on
 * one connection run concurrently; each stream runs until either side sends EOS.
 *
 * This file holds the lifecycle (listen, register, re-register, graceful stop) and the handler
 * and subscriber tables, as Go's `rpc_server.go`; `router.ts` routes requests to handlers (Go's
 * `rpc_router.go`) and `connection.ts` serves one accepted connection (Go's `ServeConn`).
 */
export function createServer(options: ServerOptions): Server {
  return new RpcServer(options);
}

class RpcServer implements Server, ServingHost {
  readonly name = "mucp";
  readonly id: string;
  readonly serviceName: string;
  private readonly version: string;
  readonly router: Router;
  private readonly subscribers: ServerSubscriber[] = [];
  private readonly brokerSubs: Subscriber[] = [];
  private readonly sockets = new Set<Socket>();
  readonly inflight = new Inflight();
  /** Contexts of requests being handled, ended at once by a forced stop. */
  readonly active = new ActiveRequests();
  readonly deadlines = new DeadlineTimer((now) => this.expireDue(now));
  readonly logger: Logger;
  readonly maxInFlight: number;
  readonly maxInFlightExempt: readonly string[] | undefined;
  private readonly subChain: SubscriberCall;
  private listener: Listener | undefined;
  private registerTimer: NodeJS.Timeout | undefined;
  private stopController = new AbortController();
  draining = false;
  private running = false;
  private registered = false;
  private acceptLoop: Promise<void> | undefined;
  address: string | undefined;

  constructor(private readonly options: ServerOptions) {
    this.serviceName = options.name ?? "go.micro.server";
    this.version = options.version ?? "latest";
    this.id = `${this.serviceName}-${options.id ?? crypto.randomUUID()}`;
    this.router = new Router(options);
    this.logger = options.logger ?? createConsoleLogger({ name: this.serviceName });
    this.maxInFlight = options.maxInFlight ?? 0;
    // Open connections keep a server's process alive, not the deadlines of their requests.
    this.deadlines.keepProcessAlive(false);
    this.maxInFlightExempt = options.maxInFlightExempt;
    const subTerminal: SubscriberCall = async (topic, payload, ctx) => {
      const subs = this.subscribers.filter((s) => s.topic === topic);
      await Promise.all(subs.map((s) => s.fn(payload, ctx)));
    };
    this.subChain = (options.subscriberMiddleware ?? []).reduceRight<SubscriberCall>(
      (n, mw) => mw(n),
      subTerminal,
    );
  }

  // ---- handlers and subscribers --------------------------------------------------------------

  newHandler<T extends object>(instance: T, options?: HandlerOptions<T>): Handler {
    return createHandler(instance, options);
  }

  handle<T extends object>(handler: T | Handler, options?: HandlerOptions<T>): void {
    const h = isHandler(handler) ? handler : createHandler(handler, options);
    if (this.router.add(h)) this.scheduleReregister();
  }

  handleFunction(
    endpoint: string,
    fn: (request: never, ctx: Context) => unknown,
    opts: { kind?: StreamKind; spec?: EndpointSpec } = {},
  ): void {
    const parts = endpoint.split(".");
    if (parts.length !== 2 || !parts[0] || !parts[1]) {
      throw new TypeError(`handleFunction: endpoint must be Type.Method, got "${endpoint}"`);
    }
    const [type, method] = parts as [string, string];
    const AsyncGen = Object.getPrototypeOf(async function* () {}).constructor;
    const kind = opts.kind ?? (fn instanceof AsyncGen ? "server" : "unary");
    const m: HandlerMethod = {
      method,
      endpoint,
      kind,
      spec: opts.spec ?? {},
      fn: fn as (input: unknown, ctx: Context) => unknown,
    };
    this.handle(fromMethods(type, new Map([[method, m]]), { name: type }));
  }

  newSubscriber<T>(topic: string, fn: SubscriberFunc<T>, options?: SubscriberOptions): ServerSubscriber {
    return createSubscriber(topic, fn, options);
  }

  subscribe<T>(topic: string | ServerSubscriber, fn?: SubscriberFunc<T>, options?: SubscriberOptions): void {
    const sub = typeof topic === "string" ? createSubscriber(topic, fn as SubscriberFunc<T>, options) : topic;
    if (!this.options.broker) throw new TypeError(`subscribe ${sub.topic}: the server has no broker`);
    this.subscribers.push(sub);
    if (this.registered)
      void this.syncSubscriptions().catch((err) => this.logger.error("subscribe failed", { err }));
    this.scheduleReregister();
  }

  endpoints(): Endpoint[] {
    const handlers = [...this.router.handlers.values()]
      .filter((h) => !h.options.internal)
      .sort((a, b) => a.name.localeCompare(b.name))
      .flatMap((h) => h.endpoints());
    const subs = this.subscribers
      .filter((s) => !s.options.internal)
      .sort((a, b) => b.topic.localeCompare(a.topic))
      .flatMap((s) => s.endpoints());
    return [...handlers, ...subs];
  }

  // ---- lifecycle ----------------------------------------------------------------------------

  async start(_options: IoOptions = {}): Promise<void> {
    if (this.running) return;
    this.stopController = new AbortController();
    this.draining = false;
    const listener = await this.options.transport.listen(this.options.address ?? "127.0.0.1:0");
    this.listener = listener;
    this.address = this.options.advertise ?? listener.address;
    this.running = true;
    this.acceptLoop = this.accept(listener);
    try {
      if (this.subscribers.length > 0) await this.options.broker?.connect();
      await this.register();
    } catch (err) {
      await this.stop({ timeoutMs: 0 });
      throw err;
    }
    const interval = this.options.registerIntervalMs ?? 30_000;
    this.registerTimer = setInterval(() => {
      this.register().catch((err) => this.logger.error("re-register failed", { err }));
    }, interval);
    this.logger.info(`listening on ${listener.address}`, {
      transport: this.options.transport.name,
      id: this.id,
    });
  }

  async stop(options: IoOptions = {}): Promise<void> {
    if (!this.running) return;
    this.running = false;
    if (this.registerTimer) clearInterval(this.registerTimer);
    this.registerTimer = undefined;
    try {
      await this.deregister();
    } catch (err) {
      this.logger.warn("deregister failed", { err });
    }
    const grace = this.options.gracePeriodMs ?? 0;
    if (grace > 0) await sleep(grace);
    await this.listener?.close();
    // New requests on open connections now get a retryable "stopping" answer.
    this.draining = true;
    const drained = await this.inflight.idle(options.timeoutMs ?? this.options.drainTimeoutMs ?? 10_000);
    if (!drained) this.logger.warn(`stopping with ${this.inflight.count} requests still running`);
    const stopped = MicroError.serviceUnavailable(ID, "server stopped");
    this.stopController.abort(stopped);
    for (const ctx of this.active.snapshot()) ctx.expire(stopped);
    this.deadlines.stop();
    await Promise.all([...this.sockets].map((s) => s.close()));
    await this.acceptLoop;
    this.logger.info("stopped");
  }

  /** Ends the requests whose deadline passed (408); returns the next deadline. */
  private expireDue(now: number): number {
    let next = Number.POSITIVE_INFINITY;
    for (const ctx of this.active.snapshot()) {
      const at = ctx.deadline;
      if (at === undefined || ctx.done) continue;
      if (at <= now) ctx.expireDeadline();
      else if (at < next) next = at;
    }
    return next;
  }

  async register(options: IoOptions = {}): Promise<void> {
    if (!this.running) throw MicroError.serviceUnavailable(ID, "register: server is not running");
    const ttlMs = this.options.registerTtlMs ?? 90_000;
    let lastErr: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      if (attempt > 0) await sleep(100 * 3 ** (attempt - 1), options.signal, ID);
      try {
        await this.options.registry.register(this.record(), { ...options, ttlMs });
        lastErr = undefined;
        break;
      } catch (err) {
        lastErr = err;
      }
    }
    if (lastErr !== undefined) throw MicroError.from(lastErr, ID, 503);
    this.registered = true;
    await this.syncSubscriptions();
  }

  async deregister(options: IoOptions = {}): Promise<void> {
    this.registered = false;
    const subs = this.brokerSubs.splice(0);
    await Promise.all(subs.map((s) => s.unsubscribe()));
    if (this.address !== undefined) await this.options.registry.deregister(this.record(), options);
  }

  private record(): Service {
    const { transport, registry, broker } = this.options;
    return {
      name: this.serviceName,
      version: this.version,
      endpoints: this.endpoints(),
      nodes: [
        {
          id: this.id,
          address: this.address ?? "",
          metadata: {
            ...(this.options.metadata ?? {}),
            transport: transport.name,
            broker: broker?.name ?? "",
            server: "mucp",
            registry: registry.name,
            protocol: "mucp",
          },
        },
      ],
    };
  }

  private scheduleReregister(): void {
    if (this.registered && this.running) {
      void this.register().catch((err) => this.logger.error("re-register failed", { err }));
    }
  }

  /** One broker subscription per (topic, queue), calling every subscriber of the topic. */
  private async syncSubscriptions(): Promise<void> {
    const broker = this.options.broker;
    if (!broker) return;
    const have = new Set(this.brokerSubs.map((s) => `${s.topic}\u0000${s.options.queue ?? ""}`));
    for (const sub of this.subscribers) {
      const key = `${sub.topic}\u0000${sub.options.queue ?? ""}`;
      if (have.has(key)) continue;
      have.add(key);
      const bs = await broker.subscribe(sub.topic, (event) => this.handleEvent(sub.topic, event.message), {
        queue: sub.options.queue,
        autoAck: sub.options.autoAck,
        onError: (err) => this.logger.error(`subscriber ${sub.topic} failed`, { err }),
      });
      this.brokerSubs.push(bs);
    }
  }

  /** True once `stop` ended the requests still running. */
  get stopped(): boolean {
    return this.stopController.signal.aborted;
  }

  async handleEvent(topic: string, message: Message): Promise<void> {
    const ct = getHeader(message.header, Header.ContentType) || this.router.defaultContentType;
    const codec = codecFor(this.router.codecs, ct);
    if (!codec) throw MicroError.badRequest(ID, `subscriber ${topic}: unsupported content type ${ct}`);
    const payloadType = this.subscribers.find((s) => s.topic === topic)?.options.payloadType;
    const payload = codec.unmarshal(message.body, payloadType);
    const ctx: Context = {
      service: this.serviceName,
      endpoint: topic,
      metadata: new Metadata(message.header),
      deadline: undefined,
      signal: this.stopController.signal,
    };
    this.inflight.enter();
    try {
      await runWithContext(ctx, () => this.subChain(topic, payload, ctx));
    } finally {
      this.inflight.leave();
    }
  }

  // ---- serving ------------------------------------------------------------------------------

  private async serve(socket: Socket): Promise<void> {
    this.sockets.add(socket);
    try {
      await new Connection(socket, this).serve();
    } finally {
      this.sockets.delete(socket);
    }
  }

  private async accept(listener: Listener): Promise<void> {
    const conns: Promise<void>[] = [];
    try {
      for await (const socket of listener) conns.push(this.serve(socket));
    } catch (err) {
      if (this.running) this.logger.error("accept failed", { err });
    }
    await Promise.all(conns);
  }
}

function isHandler(v: object): v is Handler {
  return (
    "methods" in v &&
    v.methods instanceof Map &&
    "endpoints" in v &&
    typeof (v as { endpoints: unknown }).endpoints === "function"
  );
}
