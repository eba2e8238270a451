import type { Broker } from "../broker/broker.js";
import type { Codec } from "../codec/codec.js";
import { type CodecTable, codecFor, createCodecTable } from "../codec/codecs.js";
import { currentContext, propagateContext } from "../context/context.js";
import { MicroError } from "../errors/micro-error.js";
import { IdSequence } from "../internal/id-sequence.js";
import { raceSignal, sleep } from "../internal/signals.js";
import type { Logger } from "../logger/logger.js";
import { silentLogger } from "../logger/logger.js";
import type { Node, Registry, Service } from "../registry/registry.js";
import { Header, timeoutHeader } from "../rpc/headers.js";
import { createSelector } from "../selector/registry-selector.js";
import type { Next, Selector } from "../selector/selector.js";
import type { Transport } from "../transport/transport.js";
import { CallScope, callScope } from "./call-scope.js";
import type {
  AttemptFunc,
  AttemptMiddleware,
  Backoff,
  CallFunc,
  CallMiddleware,
  CallOptions,
  Client,
  ClientStream,
  Message,
  PublishFunc,
  PublishMiddleware,
  PublishOptions,
  Request,
  RetryInfo,
  RetryPolicy,
} from "./client.js";
import { RpcClientStream } from "./client-stream.js";
import { phaseOf, tagPhase } from "./phase.js";
import { ConnectionPool, type PoolOptions, SharedConnection } from "./pool.js";
import { exponentialBackoff, RetryBudget, type RetryBudgetOptions, retryIfNotDelivered } from "./retry.js";
import { createServiceClient } from "./service-client.js";

/** Options for {@link createClient}. */
export interface ClientOptions {
  /** Carries calls. Required. */
  transport: Transport;
  /** Where services are looked up (used to build the default selector). */
  registry?: Registry | undefined;
  /** Picks nodes. Default: `createSelector({ registry })`. One of `registry`/`selector` is required. */
  selector?: Selector | undefined;
  /** Carries `publish`. Required for publishing. */
  broker?: Broker | undefined;
  /** Extra codecs (JSON and bytes are always there). */
  codecs?: Iterable<Codec> | undefined;
  /** Content type of requests and events. Default `application/json`. */
  contentType?: string | undefined;
  /** Budget of a call in milliseconds, retries included. Default 30 000 (Go's RequestTimeout). */
  timeoutMs?: number | undefined;
  /** Retries after the first attempt. Default 1. */
  retries?: number | undefined;
  /** Which failures are retried. Default {@link retryIfNotDelivered}. */
  retry?: RetryPolicy | undefined;
  /** Delay before each retry. Default exponential, 100 ms base, 5 s cap, full jitter. */
  backoff?: Backoff | undefined;
  /** Caps retries to a share of calls (default: 0.2 retries per call, at least 10). `false`: no cap. */
  retryBudget?: RetryBudgetOptions | false | undefined;
  /**
   * Connection pool: up to 100 connections per address, 128 unary calls at once on each, TTL 60 s,
   * dial timeout 5 s.
   */
  pool?: PoolOptions | undefined;
  /** Call middleware, outermost first (runs once per call, around retries). */
  middleware?: CallMiddleware[] | undefined;
  /** Attempt middleware, outermost first (runs once per attempt, sees the node). */
  attemptMiddleware?: AttemptMiddleware[] | undefined;
  /** Publish middleware, outermost first. */
  publishMiddleware?: PublishMiddleware[] | undefined;
  logger?: Logger | undefined;
}

const ID = "go.micro.client";

/** Internals shared by unary calls and streams. */
export interface ClientCore {
  readonly transport: Transport;
  readonly codecs: CodecTable;
  readonly selector: Selector;
  readonly defaults: Required<
    Pick<ClientOptions, "contentType" | "timeoutMs" | "retries" | "retry" | "backoff">
  >;
  /** The next request id (`Micro-Id`): the decimal text of 0, 1, 2, ... */
  nextId(): string;
  codec(contentType: string): Codec;
  /** The nodes a call may go to: at once for a call by address, else from the selector. */
  resolveNodes(service: string, options: CallOptions, scope: CallScope): Next | Promise<Next>;
  requestHeader(
    request: Request,
    metadata: Record<string, string>,
    id: string,
    deadline: number | undefined,
  ): Record<string, string>;
}

/**
 * The RPC client ("mucp"): Go Micro's wire protocol over any Transport. Unary calls share pooled
 * connections, matched to their replies by `Micro-Id` (see {@link PoolOptions}); each stream gets
 * its own connection, as in Go Micro.
 */
export function createClient(options: ClientOptions): Client {
  // Handlers of this process pass their context on to this client's calls from now on.
  propagateContext();
  const registry = options.registry;
  const selector =
    options.selector ??
    (registry
      ? createSelector({ registry })
      : (() => {
          throw new TypeError("createClient: a registry or a selector is required");
        })());
  const codecs = createCodecTable(options.codecs);
  const pool = new ConnectionPool(options.transport, options.pool);
  const logger = options.logger ?? silentLogger;
  const budget = options.retryBudget === false ? undefined : new RetryBudget(options.retryBudget);
  /** `Next` functions for calls by address, which need no selector. */
  const byAddress = new Map<string, Next>();
  const ids = new IdSequence();
  const core: ClientCore = {
    transport: options.transport,
    codecs,
    selector,
    defaults: {
      contentType: options.contentType ?? "application/json",
      timeoutMs: options.timeoutMs ?? 30_000,
      retries: options.retries ?? 1,
      retry: options.retry ?? retryIfNotDelivered,
      backoff: options.backoff ?? exponentialBackoff(),
    },
    nextId: () => ids.take(),
    codec(contentType) {
      const c = codecFor(codecs, contentType);
      if (!c) throw MicroError.badRequest(ID, `unsupported content type ${contentType}`);
      return c;
    },
    resolveNodes(service, opts, scope) {
      if (opts.address !== undefined) {
        if (typeof opts.address === "string") {
          let next = byAddress.get(opts.address);
          if (next === undefined) {
            next = nodesNext([opts.address]);
            if (byAddress.size >= 1024) byAddress.clear();
            byAddress.set(opts.address, next);
          }
          return next;
        }
        return nodesNext(opts.address);
      }
      return scope.race(
        selector.select(service, {
          filters: opts.filters,
          strategy: opts.strategy,
          signal: scope.parents.length > 0 ? scope.signal : undefined,
        }),
      );
    },
    requestHeader(request, metadata, id, deadline) {
      const header: Record<string, string> = {};
      for (const k in metadata) if (!isServerOnly(k)) header[k] = metadata[k] as string;
      header[Header.ContentType] = request.contentType;
      header[Header.Accept] = request.contentType;
      header[Header.Id] = id;
      header[Header.Service] = request.service;
      header[Header.Method] = request.endpoint;
      header[Header.Endpoint] = request.endpoint;
      if (deadline !== undefined) header[Header.Timeout] = timeoutHeader(deadline - Date.now());
      return header;
    },
  };

  // One attempt: a request on a shared connection, and its reply's result. Not an async function:
  // the call resumes once, when the pool has read the reply (see `SharedConnection.exchange`).
  const attempt = (node: Node, request: Request, opts: CallOptions, scope: CallScope): Promise<unknown> => {
    let codec: Codec;
    let body: Uint8Array;
    let c: SharedConnection | Promise<SharedConnection>;
    try {
      codec = core.codec(request.contentType);
      body = codec.marshal(request.body, opts.requestType);
    } catch (err) {
      return Promise.reject(err);
    }
    try {
      c = pool.acquire(node.address, scope);
    } catch (err) {
      return Promise.reject(connectError(err, scope));
    }
    if (c instanceof SharedConnection) return send(c, request, opts, scope, codec, body);
    return c.then(
      (conn) => send(conn, request, opts, scope, codec, body),
      (err: unknown) => {
        throw connectError(err, scope);
      },
    );
  };
  const send = (
    conn: SharedConnection,
    request: Request,
    opts: CallOptions,
    scope: CallScope,
    codec: Codec,
    body: Uint8Array,
  ): Promise<unknown> => {
    const id = core.nextId();
    const header = core.requestHeader(request, scope.metadata, id, scope.deadline);
    return conn.exchange(id, { header, body }, scope, codec, opts.responseType);
  };
  // With attempt middleware, each attempt is an AttemptFunc call whose options carry the budget.
  const attemptMiddleware = options.attemptMiddleware ?? [];
  const attemptChain =
    attemptMiddleware.length === 0
      ? undefined
      : attemptMiddleware.reduceRight<AttemptFunc>(
          (next, mw) => mw(next),
          (node, request, opts) =>
            attempt(
              node,
              request,
              opts,
              new CallScope(`call ${request.service}.${request.endpoint}`, opts, undefined, undefined),
            ),
        );

  const invoke: CallFunc = async (request, opts) => {
    const scope = new CallScope(
      `call ${request.service}.${request.endpoint}`,
      opts,
      core.defaults.timeoutMs,
      currentContext(),
    );
    try {
      const early = scope.reason();
      if (early) throw early;
      const nodes = core.resolveNodes(request.service, opts, scope);
      const next = typeof nodes === "function" ? nodes : await nodes;
      const retries = opts.retries ?? core.defaults.retries;
      let tried: Set<string> | undefined;
      budget?.deposit();
      for (let n = 0; ; n++) {
        if (n > 0) await sleep((opts.backoff ?? core.defaults.backoff)(n, request), scope.signal, ID);
        const node = next(tried);
        const done = selector.track?.(request.service, node);
        try {
          const result =
            attemptChain === undefined
              ? await attempt(node, request, opts, scope)
              : await attemptChain(node, request, {
                  ...opts,
                  signal: scope.signal,
                  timeoutMs: scope.remainingMs(),
                  metadata: { ...scope.metadata },
                });
          selector.mark(request.service, node);
          return result;
        } catch (err) {
          const reason = scope.reason();
          if (reason) throw reason;
          const phase = phaseOf(err);
          // Only failures of the node itself count against it, not errors its handler returned.
          if (phase !== "response" || (err instanceof MicroError && (err.code === 503 || err.code === 408))) {
            selector.mark(request.service, node, err);
          }
          if (n >= retries) throw err;
          const idempotent = opts.idempotent ?? isIdempotent(next.services, request.endpoint);
          const info: RetryInfo = { request, attempt: n + 1, error: err, phase, idempotent };
          if (!(opts.retry ?? core.defaults.retry)(info)) throw err;
          if (budget && !budget.withdraw()) {
            logger.warn("retry budget spent; not retrying", {
              service: request.service,
              endpoint: request.endpoint,
            });
            throw err;
          }
          logger.debug("retrying call", {
            service: request.service,
            endpoint: request.endpoint,
            attempt: n + 1,
            error: err,
          });
          tried ??= new Set<string>();
          tried.add(node.id);
        } finally {
          done?.();
        }
      }
    } finally {
      scope.cleanup();
    }
  };
  const callChain = (options.middleware ?? []).reduceRight<CallFunc>((next, mw) => mw(next), invoke);

  const publishRaw: PublishFunc = async (message, opts) => {
    const broker = options.broker;
    if (!broker) throw MicroError.internalServerError(ID, "publish: the client has no broker");
    const scope = callScope(`publish ${message.topic}`, opts, core.defaults.timeoutMs);
    try {
      const codec = core.codec(message.contentType);
      const header = { ...scope.metadata };
      header[Header.ContentType] = message.contentType;
      header[Header.Topic] = message.topic;
      // Literal spelling: inside broker envelopes headers are not canonicalised (Go writes Micro-ID).
      header["Micro-ID"] = crypto.randomUUID();
      const topic = opts.exchange ?? message.topic;
      await raceSignal(
        broker.publish(topic, { header, body: codec.marshal(message.payload) }, { signal: scope.signal }),
        scope.signal,
        ID,
        `publish ${topic}`,
      );
    } finally {
      scope.cleanup();
    }
  };
  const publishChain = (options.publishMiddleware ?? []).reduceRight<PublishFunc>(
    (next, mw) => mw(next),
    publishRaw,
  );

  const client: Client = {
    name: "mucp",
    newRequest(service, endpoint, body, opts = {}) {
      return {
        service,
        endpoint,
        body,
        contentType: opts.contentType ?? core.defaults.contentType,
        stream: opts.stream ?? false,
      };
    },
    newMessage(topic, payload, opts = {}) {
      return { topic, payload, contentType: opts.contentType ?? core.defaults.contentType };
    },
    call<Res, Req>(service: string, endpoint: string, body: Req, opts: CallOptions = {}) {
      const request = client.newRequest(service, endpoint, body, {
        contentType: opts.contentType ?? core.defaults.contentType,
      });
      return callChain(request, opts) as Promise<Res>;
    },
    callRequest<Res>(request: Request, opts: CallOptions = {}) {
      return callChain(request, opts) as Promise<Res>;
    },
    stream<Res, Req>(
      service: string,
      endpoint: string,
      body?: Req,
      opts: CallOptions = {},
    ): ClientStream<Req, Res> {
      const request = client.newRequest<Req | undefined>(service, endpoint, body, {
        contentType: opts.contentType ?? core.defaults.contentType,
        stream: true,
      });
      return new RpcClientStream<Req, Res>(core, request, body !== undefined, opts);
    },
    publish(topic, payload, opts: PublishOptions = {}) {
      const message = client.newMessage(topic, payload, {
        contentType: opts.contentType ?? core.defaults.contentType,
      });
      return publishChain(message, opts);
    },
    publishMessage(message: Message, opts: PublishOptions = {}) {
      return publishChain(message, opts);
    },
    service(service, handler, opts) {
      return createServiceClient(client, service, handler, opts);
    },
    async close() {
      await pool.close();
      if (!options.selector) await selector.close();
    },
  };
  return client;
}

/** A failure to get a connection: the scope's own reason if it has one, else a 503; phase `connect`. */
function connectError(err: unknown, scope: CallScope): MicroError {
  return tagPhase(scope.reason() ?? MicroError.from(err, ID, 503), "connect");
}

/** Picks the first of `addresses` not yet tried (all tried: the first). */
function nodesNext(addresses: readonly string[]): Next {
  const nodes: Node[] = addresses.map((a) => ({ id: a, address: a, metadata: { protocol: "mucp" } }));
  return (exclude) => nodes.find((n) => !exclude?.has(n.id)) ?? (nodes[0] as Node);
}

/** True when the registry describes `endpoint` with metadata `idempotent: "true"`. */
function isIdempotent(services: readonly Service[] | undefined, endpoint: string): boolean {
  for (const s of services ?? []) {
    for (const e of s.endpoints) if (e.name === endpoint && e.metadata?.idempotent === "true") return true;
  }
  return false;
}

/**
 * Metadata keys never sent as request headers: `Micro-Topic` marks events, and `Micro-Multiplex`
 * is the server's to send (a Go HTTP server echoes request headers, which would fake it).
 */
function isServerOnly(key: string): boolean {
  if (key === Header.Topic) return true;
  return key.length === Header.Multiplex.length && key.toLowerCase() === MULTIPLEX_LOWER;
}

const MULTIPLEX_LOWER = Header.Multiplex.toLowerCase();
