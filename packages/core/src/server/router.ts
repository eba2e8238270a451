import type { Codec } from "../codec/codec.js";
import { type CodecTable, codecFor, createCodecTable } from "../codec/codecs.js";
import { MicroError } from "../errors/micro-error.js";
import { type Envelope, jsonRpcEnvelope } from "../rpc/envelope.js";
import type { Routing } from "../rpc/headers.js";
import type { Handler, HandlerFunc, HandlerMethod, HandlerMiddleware } from "./server.js";

const ID = "go.micro.server";

/** Where a request goes: the handler method and the codec of its content type. */
export interface Route {
  method: HandlerMethod;
  codec: Codec;
  contentType: string;
}

/** Options for {@link Router}: the server's codecs, legacy envelopes and handler middleware. */
export interface RouterOptions {
  codecs?: Iterable<Codec> | undefined;
  envelopes?: Envelope[] | undefined;
  middleware?: HandlerMiddleware[] | undefined;
}

/**
 * The server's handler table and request routing, as Go Micro's `rpc_router`: `Type.Method` to a
 * handler method, a content type to a codec, legacy envelopes, and the middleware chain every
 * request runs through. Lookups are remembered until the handlers change.
 */
export class Router {
  readonly handlers = new Map<string, Handler>();
  readonly codecs: CodecTable;
  /** Content type of requests that name none: protobuf when that codec is there, else JSON. */
  readonly defaultContentType: string;
  readonly envelopes: Envelope[];
  /** The middleware chain, ending in the handler method the request's endpoint names. */
  readonly chain: HandlerFunc;
  /** Resolved routes by endpoint and content type. */
  private readonly routes = new Map<string, Route>();
  /**
   * The route resolved last and what it was resolved for: requests mostly repeat the one before,
   * and their names then match by identity (interned, or the same string from a transport's
   * header table) without hashing.
   */
  private lastEndpoint: string | undefined;
  private lastContentType: string | undefined;
  private lastRoute: Route | undefined;
  /** Handler methods by endpoint. */
  private readonly methods = new Map<string, HandlerMethod>();

  constructor(options: RouterOptions) {
    this.codecs = createCodecTable(options.codecs);
    this.defaultContentType = this.codecs.has("application/protobuf")
      ? "application/protobuf"
      : "application/json";
    this.envelopes = options.envelopes ?? [jsonRpcEnvelope()];
    // Not an async function: a handler's own promise is passed on as it is, without another
    // promise and the ticks it takes to adopt the handler's.
    const terminal: HandlerFunc = (request, ctx) => {
      const route = this.lookup(request.endpoint);
      if (route instanceof MicroError) return Promise.reject(route);
      try {
        const out = route.fn(request.body, ctx);
        return out instanceof Promise ? out : Promise.resolve(out);
      } catch (err) {
        return Promise.reject(err);
      }
    };
    this.chain = (options.middleware ?? []).reduceRight<HandlerFunc>((next, mw) => mw(next), terminal);
  }

  /**
   * Adds a handler. Plain functions of one Type accumulate into one handler; a second class with
   * a name already taken is a TypeError. Returns true when a new Type was added.
   */
  add(h: Handler): boolean {
    const existing = this.handlers.get(h.name);
    this.routes.clear();
    this.lastRoute = undefined;
    this.methods.clear();
    if (existing && existing !== h) {
      if (existing.options.name === undefined || h.options.name === undefined) {
        throw new TypeError(`handle: handler ${h.name} is already defined`);
      }
      for (const [k, m] of h.methods) (existing.methods as Map<string, HandlerMethod>).set(k, m);
      return false;
    }
    this.handlers.set(h.name, h);
    return true;
  }

  lookup(endpoint: string): HandlerMethod | MicroError {
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
  route(endpoint: string, contentType: string): Route | MicroError {
    if (
      this.lastRoute !== undefined &&
      endpoint === this.lastEndpoint &&
      contentType === this.lastContentType
    ) {
      return this.lastRoute;
    }
    const key = `${endpoint}\u0000${contentType}`;
    let route = this.routes.get(key);
    if (route === undefined) {
      const method = this.lookup(endpoint);
      if (method instanceof MicroError) return method;
      const codec = codecFor(this.codecs, contentType);
      if (!codec) return new MicroError(ID, `unsupported Content-Type: ${contentType}`, 415);
      route = { method, codec, contentType };
      if (this.routes.size >= 1024) this.routes.clear();
      this.routes.set(key, route);
    }
    this.lastEndpoint = endpoint;
    this.lastContentType = contentType;
    this.lastRoute = route;
    return route;
  }

  /**
   * The legacy envelope a request arrived in, if any: Go Micro's server unwraps one when the
   * request carries no `Micro-Service`/`Micro-Method`/`Micro-Endpoint` header (or carries
   * `Micro-Target`) and no `Micro-Protocol`.
   */
  envelopeOf(r: Routing): Envelope | undefined {
    if ((r.endpoint || r.service || r.method) && r.target === undefined) return undefined;
    if (r.protocol !== undefined) return undefined;
    const ct = (r.contentType || this.defaultContentType).split(";", 1)[0]?.trim().toLowerCase();
    return this.envelopes.find((e) => e.contentTypes.includes(ct ?? ""));
  }
}
