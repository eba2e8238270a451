import type { IoOptions } from "../context/call-options.js";
import type { Context } from "../context/context.js";
import type { Endpoint, Value } from "../registry/registry.js";

/** How an endpoint streams: unary (no stream), server → client, client → server, or both. */
export type StreamKind = "unary" | "server" | "client" | "bidi";

/** Describes one endpoint for the registry (what Go Micro extracts by reflection). */
export interface EndpointSpec {
  /** Shape of the request: a Value tree, or an example value it is derived from. */
  request?: Value | undefined;
  /** Shape of the response: a Value tree, or an example value it is derived from. */
  response?: Value | undefined;
  /** Extra endpoint metadata (`description`, `idempotent`, ...). */
  metadata?: Record<string, string> | undefined;
  /** Codec-specific request type for decoding (e.g. a protobuf schema). */
  requestType?: unknown;
  /** Codec-specific response type for encoding. */
  responseType?: unknown;
}

/** Options for {@link Server.handle}. */
export interface HandlerOptions<T = object> {
  /**
   * Handler name, the `Type` of `Type.Method`. Default: the class name (`Greeter`), as Go Micro
   * derives it from the Go type.
   */
  name?: string | undefined;
  /**
   * Stream kinds of methods that take a stream of requests (`client`, `bidi`); JavaScript cannot
   * see that from the function. Async generator methods are `server` streams by themselves.
   */
  streams?: Partial<Record<Extract<keyof T, string>, StreamKind>> | undefined;
  /** Registry descriptions per method name. */
  endpoints?: Partial<Record<Extract<keyof T, string>, EndpointSpec>> | undefined;
  /** Not advertised in the registry (Go's `InternalHandler`). Default false. */
  internal?: boolean | undefined;
  /**
   * Methods safe to run more than once: advertised with endpoint metadata `idempotent: "true"`,
   * so clients may retry them after a timeout. Default: none.
   */
  idempotent?: Array<Extract<keyof T, string>> | undefined;
}

/** One callable endpoint, after reflection. */
export interface HandlerMethod {
  /** Method name as written (`hello`). */
  readonly method: string;
  /** `Type.Method` (`Greeter.Hello`). */
  readonly endpoint: string;
  readonly kind: StreamKind;
  readonly spec: EndpointSpec;
  readonly fn: (input: unknown, ctx: Context) => unknown;
}

/** A handler ready to be served: Go Micro's `server.Handler`. */
export interface Handler {
  readonly name: string;
  readonly methods: ReadonlyMap<string, HandlerMethod>;
  readonly options: HandlerOptions;
  /** Registry endpoint records. */
  endpoints(): Endpoint[];
}

/** A subscriber's callback: the decoded payload and the event's context. */
export type SubscriberFunc<T = unknown> = (payload: T, ctx: Context) => void | Promise<void>;

/** Options for {@link Server.subscribe}. */
export interface SubscriberOptions {
  /** Queue group: each event goes to one subscriber of the group. Default: none (every instance). */
  queue?: string | undefined;
  /** Ack after the callback resolves, nack if it throws. Default true. */
  autoAck?: boolean | undefined;
  /** Codec-specific payload type for decoding. */
  payloadType?: unknown;
  /** Not advertised in the registry. Default false. */
  internal?: boolean | undefined;
}

/** A subscription ready to be served: Go Micro's `server.Subscriber`. */
export interface ServerSubscriber {
  readonly topic: string;
  readonly fn: SubscriberFunc;
  readonly options: SubscriberOptions;
  endpoints(): Endpoint[];
}

/** What a server middleware sees of a request. */
export interface ServerRequest {
  readonly service: string;
  readonly endpoint: string;
  readonly contentType: string;
  readonly kind: StreamKind;
  /** The decoded request (unary, server stream) or the stream of requests (client, bidi). */
  body: unknown;
}

/**
 * What a handler middleware calls to continue. It resolves with the handler's response (unary,
 * client stream) or an async iterable of responses (server, bidi).
 */
export type HandlerFunc = (request: ServerRequest, ctx: Context) => Promise<unknown>;
/** Server middleware (Go's `HandlerWrapper`): sees and may change requests, responses, errors. */
export type HandlerMiddleware = (next: HandlerFunc) => HandlerFunc;
/** What a subscriber middleware calls to continue. */
export type SubscriberCall = (topic: string, payload: unknown, ctx: Context) => Promise<void>;
/** Subscriber middleware (Go's `SubscriberWrapper`). */
export type SubscriberMiddleware = (next: SubscriberCall) => SubscriberCall;

/**
 * Serves handlers and subscribers: Go Micro's `server.Server`. `start` listens, connects the
 * broker, registers (and keeps re-registering within the TTL); `stop` deregisters, stops
 * accepting, waits for in-flight requests, then closes.
 */
export interface Server {
  /** `mucp`. */
  readonly name: string;
  /** The address registered for this node; undefined before `start`. */
  readonly address: string | undefined;
  /** This node's registry id: `<name>-<uuid>`. */
  readonly id: string;
  /** Builds a handler from a class instance (Go's `NewHandler`). */
  newHandler<T extends object>(instance: T, options?: HandlerOptions<T>): Handler;
  /** Serves a handler: a class instance, or one built by `newHandler`/`handleFunction`. */
  handle<T extends object>(handler: T | Handler, options?: HandlerOptions<T>): void;
  /** Serves one plain function as `endpoint` (`Type.Method`). */
  handleFunction(
    endpoint: string,
    fn: (request: never, ctx: Context) => unknown,
    options?: { kind?: StreamKind; spec?: EndpointSpec },
  ): void;
  /** Builds a subscriber (Go's `NewSubscriber`). */
  newSubscriber<T>(topic: string, fn: SubscriberFunc<T>, options?: SubscriberOptions): ServerSubscriber;
  /** Subscribes `fn` to `topic` (active from `start`). */
  subscribe<T>(topic: string | ServerSubscriber, fn?: SubscriberFunc<T>, options?: SubscriberOptions): void;
  start(options?: IoOptions): Promise<void>;
  /** Graceful stop; `timeoutMs` bounds the wait for in-flight requests (default: the drain timeout). */
  stop(options?: IoOptions): Promise<void>;
  /** Writes this node's record to the registry (start does it; the server repeats it on an interval). */
  register(options?: IoOptions): Promise<void>;
  /** Removes this node from the registry and unsubscribes from the broker. */
  deregister(options?: IoOptions): Promise<void>;
  /** Endpoint records currently advertised. */
  endpoints(): Endpoint[];
}
