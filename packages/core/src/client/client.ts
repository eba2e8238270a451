import type { IoOptions } from "../context/call-options.js";
import type { MetadataInit } from "../metadata/metadata.js";
import type { Node } from "../registry/registry.js";
import type { Filter, Strategy } from "../selector/selector.js";

/** A request about to be sent: what `newRequest` builds and middleware sees. */
export interface Request<Req = unknown> {
  readonly service: string;
  /** `Type.Method`. */
  readonly endpoint: string;
  readonly body: Req;
  readonly contentType: string;
  /** True for streaming calls. */
  readonly stream: boolean;
}

/** A message about to be published: what `newMessage` builds. */
export interface Message<T = unknown> {
  readonly topic: string;
  readonly payload: T;
  readonly contentType: string;
}

/** What a retry policy is told about a failed attempt. */
export interface RetryInfo {
  readonly request: Request;
  /** 1 for the first retry decision (after the first attempt). */
  readonly attempt: number;
  readonly error: unknown;
  /**
   * How far the failed attempt got: `connect` (no connection, nothing sent), `send` (the write
   * failed), `response` (sent; no reply or an error reply).
   */
  readonly phase: "connect" | "send" | "response";
  /** True when the caller or the endpoint declared the call idempotent. */
  readonly idempotent: boolean;
}

/** Decides whether a failed attempt is tried again (on another node when one exists). */
export type RetryPolicy = (info: RetryInfo) => boolean;

/** Milliseconds to wait before attempt `attempt` (1 = first retry). */
export type Backoff = (attempt: number, request: Request) => number;

/** Options for one call or stream; any field not given falls back to the client's defaults. */
export interface CallOptions extends IoOptions {
  /**
   * Budget in milliseconds for the whole call, retries included. Sent to the server as Go
   * Micro's `Timeout` header so the handler gets the same deadline. Default: the client's
   * `timeoutMs` (30 000), shortened to what remains of the current handler's deadline.
   */
  timeoutMs?: number | undefined;
  /** Metadata sent with the call, merged over the metadata inherited from the current handler. */
  metadata?: MetadataInit | undefined;
  /** Content type of the request body. Default: the client's (`application/json`). */
  contentType?: string | undefined;
  /** Retries after the first attempt. Default: the client's (1). */
  retries?: number | undefined;
  /** Retry policy. Default: the client's ({@link retryIfNotDelivered}). */
  retry?: RetryPolicy | undefined;
  /** Backoff between attempts. Default: the client's (exponential with jitter, 100 ms base). */
  backoff?: Backoff | undefined;
  /** The call is safe to repeat: policies may retry it after a timeout. Default false. */
  idempotent?: boolean | undefined;
  /** Call these addresses instead of asking the selector (Go's `WithAddress`). */
  address?: string | string[] | undefined;
  /** Selector filters for this call. */
  filters?: Filter[] | undefined;
  /** Selector strategy for this call. */
  strategy?: Strategy | undefined;
  /** Codec-specific type of the response (e.g. a protobuf schema) for decoding. */
  responseType?: unknown;
  /** Codec-specific type of the request, for encoding. */
  requestType?: unknown;
}

/** Options for `publish`. */
export interface PublishOptions extends IoOptions {
  metadata?: MetadataInit | undefined;
  /** Content type of the payload. Default: the client's (`application/json`). */
  contentType?: string | undefined;
  /** Publish to this topic instead of the message's (Go's `WithExchange`). */
  exchange?: string | undefined;
}

/**
 * A streaming call. `send` writes a request message, `closeSend` tells the server no more will
 * come, iteration (or `recv`) reads responses until the server ends the stream. `close` ends it
 * from this side. Errors from the server reject `recv` (and iteration) with its MicroError.
 */
export interface ClientStream<Req = unknown, Res = unknown> extends AsyncIterable<Res>, AsyncDisposable {
  readonly request: Request<Req | undefined>;
  send(message: Req): Promise<void>;
  /** Half-close: the server's input ends; responses keep coming. */
  closeSend(): Promise<void>;
  /** The next response, or `undefined` when the server ended the stream. */
  recv(): Promise<Res | undefined>;
  /** For client-streaming calls: half-closes and waits for the single response. */
  response(): Promise<Res>;
  /** Ends the stream from this side and closes its connection; idempotent. */
  close(): Promise<void>;
}

/** What a call middleware calls to continue: the rest of the chain, ending at the network. */
export type CallFunc = (request: Request, options: CallOptions) => Promise<unknown>;
/**
 * Client middleware: wraps each call (once per call, around retries). It can read and change the
 * request and options, the response, and the error.
 */
export type CallMiddleware = (next: CallFunc) => CallFunc;
/** Per-attempt middleware: like Go's `CallWrapper`, sees the node chosen for each attempt. */
export type AttemptFunc = (node: Node, request: Request, options: CallOptions) => Promise<unknown>;
export type AttemptMiddleware = (next: AttemptFunc) => AttemptFunc;
/** What a publish middleware calls to continue. */
export type PublishFunc = (message: Message, options: PublishOptions) => Promise<void>;
export type PublishMiddleware = (next: PublishFunc) => PublishFunc;

/** Any function (used to map handler classes to client proxies). */
// biome-ignore lint/suspicious/noExplicitAny: parameter bivariance is needed to match any handler method
type AnyFunction = (...args: any[]) => unknown;

/**
 * The client view of a handler class: each method becomes a call taking the request and call
 * options. Methods returning an async iterable become server streams; methods whose first
 * parameter is an async iterable become client or bidirectional streams.
 */
export type ServiceClient<T> = {
  [K in keyof T as T[K] extends AnyFunction ? K : never]: T[K] extends (
    input: AsyncIterable<infer Q>,
    ...rest: infer _
  ) => AsyncIterable<infer R>
    ? (options?: CallOptions) => ClientStream<Q, R>
    : T[K] extends (input: AsyncIterable<infer Q>, ...rest: infer _) => Promise<infer R>
      ? (options?: CallOptions) => ClientStream<Q, R>
      : T[K] extends (req: infer Q, ...rest: infer _) => AsyncIterable<infer R>
        ? (req: Q, options?: CallOptions) => ClientStream<Q, R>
        : T[K] extends (req: infer Q, ...rest: infer _) => infer R
          ? (req: Q, options?: CallOptions) => Promise<Awaited<R>>
          : never;
};

/**
 * Calls services, streams and publishes: Go Micro's `client.Client`. Every method takes
 * `signal` and `timeoutMs`; failures are always `MicroError`s:
 * - 500 `service X: not found` when the registry has no such service (Go Micro's code);
 * - 503 when no node is reachable; 408 when the deadline passes; 499 when the caller aborts;
 * - whatever the handler threw, with its id, code and detail.
 */
export interface Client {
  /** `mucp`. */
  readonly name: string;
  /** Unary call: sends `body`, resolves with the decoded response. */
  call<Res = unknown, Req = unknown>(
    service: string,
    endpoint: string,
    body: Req,
    options?: CallOptions,
  ): Promise<Res>;
  /** Unary call of a prepared request (Go's `Call(ctx, req, rsp)`). */
  callRequest<Res = unknown>(request: Request, options?: CallOptions): Promise<Res>;
  /**
   * Opens a stream. With `body`, it is sent as the first request (server streaming); without,
   * send requests with `send`. The connection is opened lazily by the first operation.
   */
  stream<Res = unknown, Req = unknown>(
    service: string,
    endpoint: string,
    body?: Req,
    options?: CallOptions,
  ): ClientStream<Req, Res>;
  /** Publishes an event through the broker; resolves when the broker accepted it. */
  publish(topic: string, payload: unknown, options?: PublishOptions): Promise<void>;
  /** Publishes a prepared message (Go's `Publish(ctx, msg)`). */
  publishMessage(message: Message, options?: PublishOptions): Promise<void>;
  /** Prepares a request (Go's `NewRequest`). */
  newRequest<Req>(
    service: string,
    endpoint: string,
    body: Req,
    options?: { contentType?: string; stream?: boolean },
  ): Request<Req>;
  /** Prepares a message (Go's `NewMessage`). */
  newMessage<T>(topic: string, payload: T, options?: { contentType?: string }): Message<T>;
  /**
   * A typed proxy for one handler of a service: `client.service<Greeter>("greeter", "Greeter")`
   * turns `greeter.hello(req)` into a call of `Greeter.Hello`, checked by the compiler.
   */
  service<T>(service: string, handler: string, options?: CallOptions): ServiceClient<T>;
  /** Closes pooled connections. Idempotent. */
  close(): Promise<void>;
}
