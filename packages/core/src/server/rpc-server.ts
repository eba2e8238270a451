import type { Broker, Subscriber } from "../broker/broker.js";
import type { Codec } from "../codec/codec.js";
import { type CodecTable, codecFor, createCodecTable } from "../codec/codecs.js";
import type { IoOptions } from "../context/call-options.js";
import { type Context, runWithContext } from "../context/context.js";
import { MicroError } from "../errors/micro-error.js";
import { AsyncQueue } from "../internal/async-queue.js";
import { sleep } from "../internal/signals.js";
import { createConsoleLogger, type Logger } from "../logger/logger.js";
import { Metadata } from "../metadata/metadata.js";
import type { Endpoint, Registry, Service } from "../registry/registry.js";
import { type Envelope, type EnvelopeRequest, jsonRpcEnvelope } from "../rpc/envelope.js";
import { EOS, getHeader, Header, parseTimeoutHeader, type Routing, readRouting } from "../rpc/headers.js";
import type { Listener, Message, Socket, Transport } from "../transport/transport.js";
import { createHandler, fromMethods } from "./handler.js";
import { Inflight } from "./inflight.js";
import { RequestContext } from "./request-context.js";
import type {
  EndpointSpec,
  Handler,
  HandlerFunc,
  HandlerMethod,
  HandlerMiddleware,
  HandlerOptions,
  Server,
  ServerRequest,
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
const EMPTY = new Uint8Array(0);

interface InboundStream {
  input: AsyncQueue<Uint8Array>;
  /** True after the placeholder first message was consumed. */
  started: boolean;
}

interface Route {
  method: HandlerMethod;
  codec: Codec;
  contentType: string;
}

/**
 * The RPC server ("mucp"): serves Go Micro's wire protocol over any Transport. Unary requests on
 * one connection run concurrently; each stream runs until either side sends EOS.
 */
export function createServer(options: ServerOptions): Server {
  return new RpcServer(options);
}

class RpcServer implements Server {
  readonly name = "mucp";
  readonly id: string;
  private readonly serviceName: string;
  private readonly version: string;
  private readonly codecs: CodecTable;
  private readonly defaultContentType: string;
  private readonly handlers = new Map<string, Handler>();
  /** Resolved routes by endpoint and content type ({@link RpcServer.route}). */
  private readonly routes = new Map<string, Route>();
  /** Handler methods by endpoint, remembered until handlers change. */
  private readonly methods = new Map<string, HandlerMethod>();
  private readonly subscribers: ServerSubscriber[] = [];
  private readonly brokerSubs: Subscriber[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly inflight = new Inflight();
  /** Contexts of requests being handled, ended at once by a forced stop. */
  private readonly active = new Set<RequestContext>();
  private readonly logger: Logger;
  private readonly envelopes: Envelope[];
  private readonly chain: HandlerFunc;
  private readonly subChain: SubscriberCall;
  private listener: Listener | undefined;
  private registerTimer: NodeJS.Timeout | undefined;
  private stopController = new AbortController();
  private draining = false;
  private running = false;
  private registered = false;
  private acceptLoop: Promise<void> | undefined;
  address: string | undefined;

  constructor(private readonly options: ServerOptions) {
    this.serviceName = options.name ?? "go.micro.server";
    this.version = options.version ?? "latest";
    this.id = `${this.serviceName}-${options.id ?? crypto.randomUUID()}`;
    this.codecs = createCodecTable(options.codecs);
    this.defaultContentType = this.codecs.has("application/protobuf")
      ? "application/protobuf"
      : "application/json";
    this.logger = options.logger ?? createConsoleLogger({ name: this.serviceName });
    this.envelopes = options.envelopes ?? [jsonRpcEnvelope()];
    const terminal: HandlerFunc = async (request, ctx) => {
      const route = this.lookup(request.endpoint);
      if (route instanceof MicroError) throw route;
      return route.fn(request.body, ctx);
    };
    this.chain = (options.middleware ?? []).reduceRight<HandlerFunc>((next, mw) => mw(next), terminal);
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
    const existing = this.handlers.get(h.name);
    if (existing && existing !== h) {
      // Plain functions of one Type accumulate; two classes with one name are a mistake.
      if (existing.options.name === undefined || h.options.name === undefined) {
        throw new TypeError(`handle: handler ${h.name} is already defined`);
      }
      for (const [k, m] of h.methods) (existing.methods as Map<string, HandlerMethod>).set(k, m);
      this.routes.clear();
      this.methods.clear();
      return;
    }
    this.handlers.set(h.name, h);
    this.routes.clear();
    this.methods.clear();
    this.scheduleReregister();
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
    const handlers = [...this.handlers.values()]
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
    for (const ctx of this.active) ctx.expire(stopped);
    await Promise.all([...this.sockets].map((s) => s.close()));
    await this.acceptLoop;
    this.logger.info("stopped");
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

  private async handleEvent(topic: string, message: Message): Promise<void> {
    const ct = getHeader(message.header, Header.ContentType) || this.defaultContentType;
    const codec = codecFor(this.codecs, ct);
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

  private async accept(listener: Listener): Promise<void> {
    const conns: Promise<void>[] = [];
    try {
      for await (const socket of listener) conns.push(this.serve(socket));
    } catch (err) {
      if (this.running) this.logger.error("accept failed", { err });
    }
    await Promise.all(conns);
  }

  private async serve(socket: Socket): Promise<void> {
    this.sockets.add(socket);
    const streams = new Map<string, InboundStream>();
    const conn = new Set<RequestContext>();
    try {
      for await (const msg of socket) {
        const wait = this.dispatch(socket, msg, streams, conn);
        if (wait) await wait;
      }
    } catch (err) {
      // Malformed or oversize input and stalled peers end only this connection.
      if (err instanceof MicroError && (err.code === 400 || err.code === 408 || err.code === 413)) {
        this.logger.warn(`closing connection from ${socket.remote}: ${err.detail}`);
      } else {
        this.logger.debug(`connection from ${socket.remote} failed`, { err });
      }
    } finally {
      // The caller went away: every handler of this connection sees its signal fire.
      const gone = MicroError.canceled(ID, "connection closed by the caller");
      for (const ctx of conn) ctx.expire(gone);
      for (const s of streams.values())
        s.input.fail(MicroError.canceled(ID, "connection closed by the caller"));
      this.sockets.delete(socket);
      await socket.close();
    }
  }

  /** Routes one message. Returns a promise only when the connection must wait (backpressure). */
  private dispatch(
    socket: Socket,
    msg: Message,
    streams: Map<string, InboundStream>,
    conn: Set<RequestContext>,
  ): Promise<void> | undefined {
    const r = readRouting(msg.header);
    if (r.topic !== undefined) {
      void this.serveEvent(socket, msg);
      return undefined;
    }
    const streamId = r.stream;
    if (streamId === undefined || streamId === "") {
      this.serveUnary(socket, msg, r, conn);
      return undefined;
    }
    const errText = r.error;
    const live = streams.get(streamId);
    if (live) {
      if (errText === EOS) live.input.end();
      else if (errText) live.input.fail(MicroError.parse(errText));
      else if (!live.input.push(msg.body)) return live.input.whenWritable();
      return undefined;
    }
    if (errText === EOS) {
      // EOS for a finished stream: the client is done with this connection (Go closes it too).
      void socket.close();
      return undefined;
    }
    const stream: InboundStream = { input: new AsyncQueue<Uint8Array>(256), started: false };
    streams.set(streamId, stream);
    void this.serveStream(socket, msg, r, streamId, stream, conn).finally(() => streams.delete(streamId));
    return undefined;
  }

  private lookup(endpoint: string): HandlerMethod | MicroError {
    const known = this.methods.get(endpoint);
    if (known !== undefined) return known;
    const parts = endpoint.split(".");
    if (parts.length !== 2)
      return MicroError.badRequest(ID, `rpc: service/endpoint request ill-formed: ${endpoint}`);
    const handler = this.handlers.get(parts[0] as string);
    if (!handler) return MicroError.notFound(ID, `rpc: can't find service ${parts[0]}`);
    const method = handler.methods.get(parts[1] as string);
    if (!method) return MicroError.notFound(ID, `rpc: can't find method ${endpoint}`);
    if (this.methods.size >= 1024) this.methods.clear();
    this.methods.set(endpoint, method);
    return method;
  }

  /** The handler and codec for an endpoint and content type; remembered until handlers change. */
  private route(endpoint: string, contentType: string): Route | MicroError {
    const key = `${endpoint}\u0000${contentType}`;
    const hit = this.routes.get(key);
    if (hit !== undefined) return hit;
    const method = this.lookup(endpoint);
    if (method instanceof MicroError) return method;
    const codec = codecFor(this.codecs, contentType);
    if (!codec) return new MicroError(ID, `unsupported Content-Type: ${contentType}`, 415);
    const route: Route = { method, codec, contentType };
    if (this.routes.size >= 1024) this.routes.clear();
    this.methods.clear();
    this.routes.set(key, route);
    return route;
  }

  /** A request's context, ended early when its connection closes or the server stops. */
  private context(socket: Socket, r: Routing, endpoint: string, header: Record<string, string>) {
    const ctx = new RequestContext(
      this.serviceName,
      endpoint,
      header,
      parseTimeoutHeader(r.timeout),
      socket.remote,
      socket.local,
    );
    this.active.add(ctx);
    if (this.stopController.signal.aborted) ctx.expire(MicroError.serviceUnavailable(ID, "server stopped"));
    return ctx;
  }

  /** The reply header: the request's `Micro-Id` and the extra entries. */
  private replyHeader(id: string | undefined, extra: Record<string, string>): Record<string, string> {
    if (id === undefined) return extra;
    const out: Record<string, string> = { [Header.Id]: id };
    return Object.assign(out, extra);
  }

  private async send(socket: Socket, message: Message): Promise<void> {
    try {
      await socket.send(message);
    } catch (err) {
      this.logger.debug(`reply to ${socket.remote} lost`, { err });
    }
  }

  /** Why a new request is refused before reaching a handler, if it is. */
  private refusal(r: Routing): MicroError | undefined {
    if (this.draining) return MicroError.serviceUnavailable(ID, "server is stopping");
    const max = this.options.maxInFlight ?? 0;
    if (max > 0 && this.inflight.count >= max) {
      const endpoint = r.endpoint || r.method || "";
      if (!this.options.maxInFlightExempt?.includes(endpoint)) {
        return MicroError.serviceUnavailable(ID, "server overloaded");
      }
    }
    return undefined;
  }

  /**
   * The legacy envelope a request arrived in, if any: Go Micro's server unwraps one when the
   * request carries no `Micro-Service`/`Micro-Method`/`Micro-Endpoint` header (or carries
   * `Micro-Target`) and no `Micro-Protocol`.
   */
  private envelopeOf(r: Routing): Envelope | undefined {
    if ((r.endpoint || r.service || r.method) && r.target === undefined) return undefined;
    if (r.protocol !== undefined) return undefined;
    const ct = (r.contentType || this.defaultContentType).split(";", 1)[0]?.trim().toLowerCase();
    return this.envelopes.find((e) => e.contentTypes.includes(ct ?? ""));
  }

  /**
   * One unary request. The handler's result or error is answered once: when the handler settles,
   * or at once when the request ends early (deadline, caller gone, forced stop).
   */
  private serveUnary(socket: Socket, msg: Message, r: Routing, conn: Set<RequestContext>): void {
    // Refused before it counts as in flight: a storm of refusals cannot inflate the count.
    const refused = this.refusal(r);
    if (refused) {
      void this.send(socket, {
        header: this.replyHeader(r.id, { [Header.Error]: String(refused) }),
        body: EMPTY,
      });
      return;
    }
    this.inflight.enter();
    const contentType = r.contentType || this.defaultContentType;
    const envelope = this.envelopeOf(r);
    let unwrapped: EnvelopeRequest | undefined;
    let ctx: RequestContext | undefined;
    let codec: Codec | undefined;
    let responseType: unknown;
    let answered = false;
    const answer = (result: unknown, err: unknown) => {
      if (answered) return;
      answered = true;
      if (ctx) {
        ctx.finish();
        conn.delete(ctx);
        this.active.delete(ctx);
      }
      this.inflight.leave();
      let out: Uint8Array | undefined;
      if (err === undefined && codec) {
        try {
          out = codec.marshal(result, responseType);
          if (envelope && unwrapped)
            out = envelope.encodeResponse({ endpoint: unwrapped.endpoint, id: unwrapped.id, body: out });
        } catch (e) {
          err = e;
        }
      }
      if (out !== undefined) {
        void this.send(socket, {
          header: this.replyHeader(r.id, { [Header.ContentType]: contentType }),
          body: out,
        });
        return;
      }
      const e = MicroError.from(err, this.serviceName);
      if (e.code >= 500 && e.id !== ID) this.logger.error(`handler failed: ${e.detail}`, { err });
      // Legacy clients read the error from the envelope; every client reads Micro-Error.
      const body = envelope
        ? envelope.encodeResponse({
            endpoint: unwrapped?.endpoint ?? "",
            id: unwrapped?.id ?? "",
            error: String(e),
          })
        : EMPTY;
      void this.send(socket, {
        header: this.replyHeader(r.id, { [Header.Error]: String(e), [Header.ContentType]: contentType }),
        body,
      });
    };
    try {
      let route: Route | MicroError;
      let payload = msg.body;
      if (envelope) {
        unwrapped = envelope.decodeRequest(msg.body);
        payload = unwrapped.body;
        route = this.route(unwrapped.endpoint, envelope.bodyContentType);
      } else {
        route = this.route(r.endpoint || r.method || "", contentType);
      }
      if (route instanceof MicroError) throw route;
      const { method } = route;
      codec = route.codec;
      responseType = method.spec.responseType;
      let body: unknown;
      try {
        body = codec.unmarshal(payload, method.spec.requestType);
      } catch (err) {
        throw MicroError.badRequest(ID, `rpc: router cannot decode request: ${(err as Error).message}`, {
          cause: err,
        });
      }
      const c = this.context(socket, r, method.endpoint, msg.header);
      ctx = c;
      conn.add(c);
      c.onExpire = (reason) => answer(undefined, reason);
      if (c.done) return;
      const request: ServerRequest = {
        service: this.serviceName,
        endpoint: method.endpoint,
        contentType: route.contentType,
        kind: method.kind,
        body,
      };
      runWithContext(c, () => this.chain(request, c)).then(
        (result) => answer(result, undefined),
        (err: unknown) =>
          answer(undefined, err ?? MicroError.internalServerError(this.serviceName, "handler failed")),
      );
    } catch (err) {
      answer(undefined, err);
    }
  }

  private async serveStream(
    socket: Socket,
    first: Message,
    r: Routing,
    streamId: string,
    stream: InboundStream,
    conn: Set<RequestContext>,
  ): Promise<void> {
    const base: Record<string, string> = { [Header.Stream]: streamId };
    const refused = this.refusal(r);
    if (refused) {
      await this.send(socket, { header: { ...base, [Header.Error]: String(refused) }, body: EMPTY });
      stream.input.end();
      return;
    }
    this.inflight.enter();
    let cleanup: (() => void) | undefined;
    try {
      const route = this.route(r.endpoint || r.method || "", r.contentType || this.defaultContentType);
      if (route instanceof MicroError) throw route;
      const { method, codec, contentType } = route;
      base[Header.Service] = this.serviceName;
      base[Header.Endpoint] = method.endpoint;
      base[Header.Method] = method.endpoint;
      base[Header.ContentType] = contentType;
      const c = this.context(socket, r, method.endpoint, first.header);
      conn.add(c);
      cleanup = () => {
        c.finish();
        conn.delete(c);
        this.active.delete(c);
      };
      const decode = (b: Uint8Array) => {
        try {
          return codec.unmarshal(b, method.spec.requestType);
        } catch (err) {
          throw MicroError.badRequest(ID, `rpc: router cannot decode request: ${(err as Error).message}`, {
            cause: err,
          });
        }
      };
      // The first message is Go Micro's placeholder: its body is discarded.
      let body: unknown;
      if (method.kind === "client" || method.kind === "bidi") {
        body = (async function* () {
          for await (const b of stream.input) yield decode(b);
        })();
      } else {
        const r = await Promise.race([stream.input.next(), c.expired]);
        if (r.done) throw MicroError.badRequest(ID, `${method.endpoint}: stream closed before the request`);
        body = decode(r.value);
      }
      const request: ServerRequest = {
        service: this.serviceName,
        endpoint: method.endpoint,
        contentType,
        kind: method.kind,
        body,
      };
      const result = await Promise.race([runWithContext(c, () => this.chain(request, c)), c.expired]);
      if (method.kind === "server" || method.kind === "bidi") {
        if (!isAsyncIterable(result)) {
          throw MicroError.internalServerError(
            ID,
            `${method.endpoint}: a ${method.kind} stream handler must return an async iterable`,
          );
        }
        const it = result[Symbol.asyncIterator]();
        try {
          for (;;) {
            const r = await Promise.race([runWithContext(c, () => it.next()), c.expired]);
            if (r.done) break;
            await socket.send({ header: base, body: codec.marshal(r.value, method.spec.responseType) });
          }
        } finally {
          void it.return?.();
        }
      } else {
        await socket.send({ header: base, body: codec.marshal(result, method.spec.responseType) });
      }
      await this.send(socket, { header: { ...base, [Header.Error]: EOS }, body: EMPTY });
    } catch (err) {
      const e = MicroError.from(err, this.serviceName);
      if (e.code >= 500 && e.id !== ID) this.logger.error(`stream handler failed: ${e.detail}`, { err });
      await this.send(socket, { header: { ...base, [Header.Error]: String(e) }, body: EMPTY });
    } finally {
      stream.input.end();
      cleanup?.();
      this.inflight.leave();
    }
  }

  /** An event sent straight to the RPC port (a message with `Micro-Topic`). */
  private async serveEvent(socket: Socket, msg: Message): Promise<void> {
    const topic = getHeader(msg.header, Header.Topic) as string;
    let extra: Record<string, string> = {};
    try {
      await this.handleEvent(topic, msg);
    } catch (err) {
      extra = { [Header.Error]: String(MicroError.from(err, ID)) };
    }
    await this.send(socket, { header: { ...msg.header, ...extra }, body: EMPTY });
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

function isAsyncIterable(v: unknown): v is AsyncIterable<unknown> {
  return v !== null && typeof v === "object" && Symbol.asyncIterator in v;
}
