import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type {
  Broker,
  BrokerEvent,
  BrokerHandler,
  BrokerMessage,
  BrokerPublishOptions,
  IoOptions,
  Logger,
  Registry,
  ServiceRecord,
  SubscribeOptions,
  Subscriber,
  Watcher,
} from "@microts/core";
import {
  createConsoleLogger,
  decodeMessageEnvelope,
  encodeMessageEnvelope,
  getHeader,
  MicroError,
} from "@microts/core";
import {
  abortReason,
  advertisedHost,
  deferred,
  formatHostPort,
  insideHandler,
  parseHostPort,
  runHandler,
} from "@microts/core/internal";
import { Deliveries } from "./broker-delivery.js";

/** Options for {@link createHttpBroker}. */
export interface HttpBrokerOptions {
  /** Where subscriptions are registered and subscribers looked up. Required. */
  registry: Registry;
  /** Listen address of the subscriber HTTP server. Default "127.0.0.1:0" (Go's default: loopback only). */
  address?: string;
  /** Address registered for subscribers instead of the listener's (e.g. a routable IP). Default: the listener's. */
  advertise?: string;
  /** Registration time to live of each subscription, in milliseconds. Default 60 000 (Go's `registerTTL`). */
  registerTtlMs?: number;
  /** Re-registration interval, in milliseconds. Default 30 000 (Go's `registerInterval`). */
  registerIntervalMs?: number;
  /**
   * How long a registry lookup of subscribers is reused, in milliseconds. Default 5 000. The
   * cache is also dropped on every registry watch event and refreshed when it has no subscriber
   * for the topic being published.
   */
  cacheTtlMs?: number;
  /** Time a subscriber has to answer one delivery POST, in milliseconds. Default 30 000. */
  deliveryTimeoutMs?: number;
  /** Deliveries queued per subscriber before `publish` waits. Default 10 000. */
  maxPendingPerSubscriber?: number;
  /** Largest delivery accepted by the subscriber server, in bytes (larger: 413). Default 16 MiB. */
  maxBodyBytes?: number;
  /**
   * Called when a delivery fails (unreachable subscriber, timeout, non-200 answer). Go Micro drops
   * these silently and so does `publish`; this hook makes them visible. Default: a debug log line.
   */
  onDeliveryError?: (error: MicroError, topic: string) => void;
  /** Default: a console logger named "micro.http.broker". */
  logger?: Logger;
}

/** The registry service every Go Micro HTTP broker subscriber is registered under. */
export const HTTP_BROKER_SERVICE = "micro.http.broker";
/** The version (queue group) of subscribers without a queue. */
export const BROADCAST_VERSION = "ff.http.broadcast";

const ID = "go.micro.broker";

interface LocalSub {
  id: string;
  topic: string;
  handler: BrokerHandler;
  options: SubscribeOptions;
  active: boolean;
  /**
   * Handler calls in progress (deliveries from several publishers may overlap); each settles when
   * its call has finished, and is the handler scope of that call.
   */
  running: Set<Promise<void>>;
}

/**
 * Go Micro's default broker (`broker.NewHttpBroker`): subscribers run an HTTP server and register
 * themselves in the registry as service `micro.http.broker` (version = queue name, or
 * `ff.http.broadcast`); publishers look them up and POST the JSON envelope
 * `{"Header":{...},"Body":"<base64>"}` to `http://<node>/?id=<node id>`: to every broadcast
 * subscriber of the topic and to one random member of each queue group.
 *
 * Delivery is asynchronous and at most once, except that POSTs left unanswered when a connection
 * breaks are written once more on a new one (a subscriber that crashed before answering may see a
 * message twice): `publish` resolves once deliveries are queued (it rejects only when the registry
 * cannot be asked, 503). Unreachable subscribers and topics without subscribers are not errors,
 * as in Go; see `onDeliveryError`. Messages from one publisher reach one subscriber in publish
 * order, pipelined on one connection. There are no acks: `nack` is a no-op.
 */
export function createHttpBroker(options: HttpBrokerOptions): Broker {
  return new HttpBroker(options);
}

class HttpBroker implements Broker {
  readonly name = "http";
  address = "";
  private server: Server | undefined;
  private connecting: Promise<void> | undefined;
  private readonly subs = new Map<string, LocalSub>();
  private readonly handles = new Set<Subscriber>();
  private readonly deliveries: Deliveries;
  private readonly logger: Logger;
  private cache: { at: number; services: ServiceRecord[] } | undefined;
  private watcher: Watcher | undefined;

  constructor(private readonly options: HttpBrokerOptions) {
    if (!options?.registry) throw MicroError.badRequest(ID, "createHttpBroker: a registry is required");
    this.logger = options.logger ?? createConsoleLogger({ name: "micro.http.broker" });
    const onDeliveryError =
      options.onDeliveryError ??
      ((err: MicroError, topic: string) =>
        this.logger.debug("delivery failed", { topic, error: err.detail }));
    this.deliveries = new Deliveries({
      timeoutMs: options.deliveryTimeoutMs ?? 30_000,
      maxPending: options.maxPendingPerSubscriber ?? 10_000,
      onError: onDeliveryError,
    });
  }

  connect(opts: IoOptions = {}): Promise<void> {
    if (this.server) return Promise.resolve();
    if (opts.signal?.aborted) return Promise.reject(abortReason(ID, "connect", opts.signal));
    this.connecting ??= this.listen().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  async disconnect(): Promise<void> {
    if (this.connecting) await this.connecting.catch(() => {});
    await Promise.all([...this.handles].map((s) => s.unsubscribe()));
    this.watcher?.stop();
    this.watcher = undefined;
    this.cache = undefined;
    this.deliveries.close();
    const server = this.server;
    this.server = undefined;
    this.address = "";
    if (server) {
      server.close();
      server.closeAllConnections();
    }
  }

  async publish(topic: string, message: BrokerMessage, opts: BrokerPublishOptions = {}): Promise<void> {
    const header: Record<string, string> = { ...message.header, "Micro-Topic": topic };
    const envelope = encodeMessageEnvelope({ header, body: message.body });
    const services = await this.lookup(topic, opts);
    const groups = new Map<string, ServiceRecord["nodes"]>();
    for (const svc of services) {
      const nodes = svc.nodes.filter((n) => n.metadata.broker === "http" && n.metadata.topic === topic);
      if (nodes.length === 0) continue;
      const list = groups.get(svc.version);
      if (list) list.push(...nodes);
      else groups.set(svc.version, nodes);
    }
    const sends: Promise<void>[] = [];
    for (const [version, nodes] of groups) {
      const targets =
        version === BROADCAST_VERSION
          ? nodes
          : [nodes[Math.floor(Math.random() * nodes.length)] as (typeof nodes)[0]];
      for (const n of targets) sends.push(this.deliveries.enqueue(n.address, n.id, topic, envelope));
    }
    await Promise.all(sends);
  }

  async subscribe(
    topic: string,
    handler: BrokerHandler,
    options: SubscribeOptions = {},
  ): Promise<Subscriber> {
    await this.connect();
    // One node id per subscription (Go uses one per broker and topic, which makes a queue-group
    // POST reach every local subscriber of the topic); Go publishers treat the id as opaque.
    const id = `${topic}-${randomUUID()}`;
    const sub: LocalSub = { id, topic, handler, options: { ...options }, active: true, running: new Set() };
    const service: ServiceRecord = {
      name: HTTP_BROKER_SERVICE,
      version: options.queue || BROADCAST_VERSION,
      endpoints: [],
      nodes: [{ id, address: this.address, metadata: { secure: "false", broker: "http", topic } }],
    };
    const ttlMs = this.options.registerTtlMs ?? 60_000;
    this.subs.set(id, sub);
    try {
      await this.options.registry.register(service, { ttlMs });
    } catch (err) {
      this.subs.delete(id);
      throw MicroError.from(err, ID, 503);
    }
    this.cache = undefined;
    const timer = setInterval(() => {
      this.options.registry
        .register(service, { ttlMs })
        .catch((err: unknown) => this.logger.warn("re-registering subscription failed", { topic, err }));
    }, this.options.registerIntervalMs ?? 30_000);
    timer.unref();
    const registry = this.options.registry;
    const handles = this.handles;
    const subs = this.subs;
    const logger = this.logger;
    const handle: Subscriber = {
      topic,
      options: sub.options,
      async unsubscribe() {
        if (!sub.active) return;
        sub.active = false;
        clearInterval(timer);
        subs.delete(id);
        handles.delete(handle);
        await registry.deregister(service).catch((err: unknown) => {
          logger.warn("deregistering subscription failed", { topic, err });
        });
        // The handler calls in progress finish first, except the caller's own.
        await Promise.all([...sub.running].filter((call) => !insideHandler(call)));
      },
      [Symbol.asyncDispose]() {
        return handle.unsubscribe();
      },
    };
    handles.add(handle);
    return handle;
  }

  // ---- subscriber server --------------------------------------------------------------------

  private async listen(): Promise<void> {
    const { host, port } = parseHostPort(this.options.address ?? "127.0.0.1:0", ID);
    const server = createServer((req, res) => this.serve(req, res));
    // Go clients keep idle connections 90 s; outlive that so a reused one is never stale.
    server.keepAliveTimeout = 120_000;
    server.on("clientError", (_err, sock) => sock.destroy());
    await new Promise<void>((resolve, reject) => {
      server.once("error", (err: NodeJS.ErrnoException) =>
        reject(
          MicroError.serviceUnavailable(ID, `listen ${host}:${port}: ${err.code ?? err.message}`, {
            cause: err,
          }),
        ),
      );
      server.listen({ host: host || undefined, port }, () => resolve());
    });
    server.on("error", (err) => this.logger.error("subscriber server failed", { err }));
    const bound = server.address();
    const boundPort = bound !== null && typeof bound === "object" ? bound.port : port;
    this.address = this.options.advertise ?? formatHostPort(advertisedHost(host), boundPort);
    this.server = server;
  }

  private serve(req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== "POST") {
      reply(res, 405, MicroError.methodNotAllowed(ID, "Method not allowed"));
      req.resume();
      return;
    }
    const max = this.options.maxBodyBytes ?? 16 * 1024 * 1024;
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > max) {
        reply(res, 413, new MicroError(ID, `delivery larger than ${max} bytes`, 413), true);
        req.destroy();
      } else chunks.push(c);
    });
    req.on("error", () => {});
    req.on("end", () => {
      if (size > max) return;
      void this.dispatch(req.url ?? "/", Buffer.concat(chunks), res);
    });
  }

  private async dispatch(url: string, data: Buffer, res: ServerResponse): Promise<void> {
    let message: BrokerMessage;
    try {
      message = decodeMessageEnvelope(data);
    } catch (err) {
      const e = MicroError.from(err, ID, 400);
      this.logger.warn("undecodable delivery", { error: e.detail });
      reply(res, 400, e);
      return;
    }
    const topic = getHeader(message.header, "Micro-Topic");
    if (!topic) {
      reply(res, 500, MicroError.internalServerError(ID, "Topic not found"));
      return;
    }
    const q = url.indexOf("?");
    const id = q < 0 ? null : new URLSearchParams(url.slice(q + 1)).get("id");
    const sub = id === null ? undefined : this.subs.get(id);
    if (sub?.active && sub.topic === topic) {
      const event: BrokerEvent = {
        topic,
        message,
        redelivered: 0,
        ack: () => Promise.resolve(),
        nack: () => Promise.resolve(),
      };
      const running = deferred<void>();
      sub.running.add(running.promise);
      try {
        await runHandler(running.promise, () => sub.handler(event));
      } catch (err) {
        // No redelivery over HTTP (Go ignores handler errors too); tell the subscriber's owner.
        sub.options.onError?.(err);
        this.logger.debug("subscriber handler failed", { topic, err });
      } finally {
        sub.running.delete(running.promise);
        running.resolve();
      }
    }
    res.writeHead(200, { "Content-Length": "0" });
    res.end();
  }

  // ---- subscriber lookup --------------------------------------------------------------------

  private async lookup(topic: string, opts: IoOptions): Promise<ServiceRecord[]> {
    const now = Date.now();
    const cached = this.cache;
    const ttl = this.options.cacheTtlMs ?? 5_000;
    if (cached && now - cached.at < ttl && hasTopic(cached.services, topic)) return cached.services;
    this.watch();
    let services: ServiceRecord[];
    try {
      services = await this.options.registry.getService(HTTP_BROKER_SERVICE, opts);
    } catch (err) {
      if (err instanceof MicroError && err.code === 404) services = [];
      else throw MicroError.from(err, ID, 503);
    }
    this.cache = { at: now, services };
    return services;
  }

  /** Drops the lookup cache whenever subscriptions change (Go's registry cache watches too). */
  private watch(): void {
    if (this.watcher) return;
    let w: Watcher;
    try {
      w = this.options.registry.watch({ service: HTTP_BROKER_SERVICE });
    } catch {
      return; // no watch: the TTL bounds staleness
    }
    this.watcher = w;
    void (async () => {
      try {
        for await (const _ of w) this.cache = undefined;
      } catch {
        // watch failed: fall back to the TTL
      }
      if (this.watcher === w) this.watcher = undefined;
    })();
  }
}

function hasTopic(services: ServiceRecord[], topic: string): boolean {
  return services.some((s) => s.nodes.some((n) => n.metadata.topic === topic));
}

function reply(res: ServerResponse, code: number, err: MicroError, close = false): void {
  if (res.headersSent) return;
  const body = err.toString();
  res.writeHead(code, {
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(body),
    ...(close ? { Connection: "close" } : {}),
  });
  res.end(body);
}
