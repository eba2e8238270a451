import type { CallOptions, Client, ClientStream, ServiceClient } from "./client.js";

/** `hello` -> `Hello`: Go Micro's endpoint naming (exported method names). */
export function endpointName(handler: string, method: string): string {
  return `${handler}.${method.charAt(0).toUpperCase()}${method.slice(1)}`;
}

/**
 * Builds the typed proxy behind `client.service()`. Each method returns a pending call that is
 * both awaitable and a stream; the first use decides which it is:
 * - `await greeter.hello(req)`: a unary call;
 * - iterating or `recv()` first: a server stream, the first argument being the request;
 * - `send`, `closeSend` or `response()` first: a client or bidirectional stream, the first
 *   argument being the call options.
 */
export function createServiceClient<T>(
  client: Client,
  service: string,
  handler: string,
  defaults: CallOptions = {},
): ServiceClient<T> {
  const cache = new Map<string, (a?: unknown, b?: CallOptions) => PendingCall>();
  return new Proxy({} as ServiceClient<T>, {
    get(_target, prop) {
      if (typeof prop !== "string" || prop === "then") return undefined;
      let fn = cache.get(prop);
      if (!fn) {
        const endpoint = endpointName(handler, prop);
        fn = (a?: unknown, b?: CallOptions) => new PendingCall(client, service, endpoint, a, b, defaults);
        cache.set(prop, fn);
      }
      return fn;
    },
  });
}

class PendingCall implements PromiseLike<unknown>, ClientStream<unknown, unknown> {
  private unary: Promise<unknown> | undefined;
  private streamed: ClientStream<unknown, unknown> | undefined;

  constructor(
    private readonly client: Client,
    private readonly service: string,
    private readonly endpoint: string,
    private readonly first: unknown,
    private readonly second: CallOptions | undefined,
    private readonly defaults: CallOptions,
  ) {}

  get request() {
    return this.asStream(true).request;
  }

  // biome-ignore lint/suspicious/noThenProperty: a pending call is deliberately awaitable
  then<A = unknown, B = never>(
    onfulfilled?: ((value: unknown) => A | PromiseLike<A>) | null,
    onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    this.unary ??= this.client.call(this.service, this.endpoint, this.first, {
      ...this.defaults,
      ...this.second,
    });
    return this.unary.then(onfulfilled, onrejected);
  }

  /** `requestFirst`: the first argument is a request (server stream) rather than options. */
  private asStream(requestFirst: boolean): ClientStream<unknown, unknown> {
    if (!this.streamed) {
      this.streamed = requestFirst
        ? this.client.stream(this.service, this.endpoint, this.first, { ...this.defaults, ...this.second })
        : this.client.stream(this.service, this.endpoint, undefined, {
            ...this.defaults,
            ...(this.first as CallOptions | undefined),
          });
    }
    return this.streamed;
  }

  send(message: unknown) {
    return this.asStream(false).send(message);
  }
  closeSend() {
    return this.asStream(false).closeSend();
  }
  response() {
    return this.asStream(false).response();
  }
  recv() {
    return this.asStream(this.first !== undefined).recv();
  }
  close() {
    return this.streamed?.close() ?? Promise.resolve();
  }
  [Symbol.asyncIterator]() {
    return this.asStream(this.first !== undefined)[Symbol.asyncIterator]();
  }
  [Symbol.asyncDispose]() {
    return this.close();
  }
}
