import type { Codec } from "../codec/codec.js";
import { runWithContext } from "../context/context.js";
import { Code } from "../errors/codes.js";
import { MicroError } from "../errors/micro-error.js";
import { AsyncQueue } from "../internal/async-queue.js";
import type { DeadlineTimer } from "../internal/deadline-timer.js";
import { SENT } from "../internal/sent.js";
import type { Logger } from "../logger/logger.js";
import type { EnvelopeRequest } from "../rpc/envelope.js";
import { EOS, Header, parseTimeoutHeader, type Routing, readRouting } from "../rpc/headers.js";
import type { Message, Socket } from "../transport/transport.js";
import type { ActiveRequests } from "./active-requests.js";
import type { Inflight } from "./inflight.js";
import { RequestContext } from "./request-context.js";
import type { Route, Router } from "./router.js";
import type { ServerRequest } from "./server.js";

const ID = "go.micro.server";
const EMPTY = new Uint8Array(0);

/** What serving a connection needs from the server that accepted it. */
export interface ServingHost {
  readonly serviceName: string;
  readonly router: Router;
  readonly logger: Logger;
  readonly inflight: Inflight;
  /** Contexts of requests being handled, ended at once by a forced stop. */
  readonly active: ActiveRequests;
  /** Ends the contexts in {@link active} whose deadline passed; told of each new deadline. */
  readonly deadlines: DeadlineTimer;
  /** Requests handled at once before new ones are refused with 503 (0: no limit). */
  readonly maxInFlight: number;
  /** Endpoints served even beyond `maxInFlight`. */
  readonly maxInFlightExempt: readonly string[] | undefined;
  /** True while stopping: new requests get a retryable 503 "server is stopping". */
  readonly draining: boolean;
  /** True once the server stopped: requests still arriving are ended at once. */
  readonly stopped: boolean;
  /** Runs the subscribers of `topic` for an event sent to the RPC port. */
  handleEvent(topic: string, message: Message): Promise<void>;
}

interface InboundStream {
  input: AsyncQueue<Uint8Array>;
  /** True after the placeholder first message was consumed. */
  started: boolean;
}

/**
 * One accepted connection, served as Go Micro's `ServeConn` does: unary requests run concurrently
 * and are answered by `Micro-Id`; each stream (keyed by `Micro-Stream`) runs until either side
 * sends EOS; events sent to the RPC port go to the subscribers.
 */
export class Connection {
  private readonly streams = new Map<string, InboundStream>();
  /** True once a reply told the client this connection is multiplexed ({@link Header.Multiplex}). */
  private announced = false;

  constructor(
    private readonly socket: Socket,
    private readonly host: ServingHost,
  ) {}

  async serve(): Promise<void> {
    const { socket, streams } = this;
    try {
      // One message per iteration, not a burst drained with `tryRecv`: a request whose handler
      // answers at once is answered before the next one is read, so its objects die young instead
      // of a whole burst's outliving a young-generation GC.
      //
      // Nothing of a request stays in this frame while it waits for the next one: V8 keeps an
      // async function's locals while it waits, and a connection left idle would keep its last
      // request alive (with many idle connections, V8 then pretenures the allocation sites of
      // requests: every later request is made in the old generation).
      const it = socket[Symbol.asyncIterator]();
      for (;;) {
        let next: IteratorResult<Message> | undefined = await it.next();
        if (next.done) break;
        const wait = this.dispatch(next.value);
        next = undefined;
        if (wait) await wait;
      }
    } catch (err) {
      // Malformed or oversize input and stalled peers end only this connection.
      if (err instanceof MicroError && (err.code === 400 || err.code === 408 || err.code === 413)) {
        this.host.logger.warn(`closing connection from ${socket.remote}: ${err.detail}`);
      } else {
        this.host.logger.debug(`connection from ${socket.remote} failed`, { err });
      }
    } finally {
      // The caller went away: every handler of this connection sees its signal fire.
      const gone = MicroError.canceled(ID, "connection closed by the caller");
      for (const ctx of this.host.active.snapshot()) if (ctx.source === this) ctx.expire(gone);
      for (const s of streams.values())
        s.input.fail(MicroError.canceled(ID, "connection closed by the caller"));
      await socket.close();
    }
  }

  /** Routes one message. Returns a promise only when the connection must wait (backpressure). */
  private dispatch(msg: Message): Promise<void> | undefined {
    const { socket, streams } = this;
    const r = readRouting(msg.header);
    if (r.topic !== undefined) {
      void this.serveEvent(msg, r.topic);
      return undefined;
    }
    const streamId = r.stream;
    if (streamId === undefined || streamId === "") {
      this.serveUnary(msg, r);
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
    void this.serveStream(msg, r, streamId, stream).finally(() => streams.delete(streamId));
    return undefined;
  }

  /** A request's context, ended early when its connection closes or the server stops. */
  private context(
    r: Routing,
    endpoint: string,
    header: Record<string, string>,
    onExpire?: (reason: MicroError) => void,
  ) {
    const socket = this.socket;
    const ctx = new RequestContext(
      this.host.serviceName,
      endpoint,
      header,
      parseTimeoutHeader(r.timeout),
      socket.remote,
      socket.local,
    );
    ctx.source = this;
    this.host.active.add(ctx);
    if (ctx.deadline !== undefined) this.host.deadlines.add(ctx.deadline);
    ctx.onExpire = onExpire;
    if (this.host.stopped) ctx.expire(MicroError.serviceUnavailable(ID, "server stopped"));
    return ctx;
  }

  /**
   * The reply header: the request's `Micro-Id` and the extra entries; the first reply of the
   * connection also tells the client it may send concurrent requests (`Micro-Multiplex`).
   */
  private replyHeader(id: string | undefined, extra: Record<string, string>): Record<string, string> {
    if (!this.announced) {
      this.announced = true;
      extra[Header.Multiplex] = "1";
    }
    if (id === undefined) return extra;
    const out: Record<string, string> = { [Header.Id]: id };
    return Object.assign(out, extra);
  }

  /**
   * Sends a reply; a failure is logged, not thrown (the caller is gone). Never rejects. With
   * `errorIfTooLarge`, a reply the transport refuses as too large (413) is answered with that
   * error instead, so that the caller hears of it rather than waiting for its deadline.
   */
  private send(socket: Socket, message: Message, errorIfTooLarge = false): Promise<void> {
    let sent: Promise<void>;
    try {
      sent = socket.send(message);
    } catch (err) {
      sent = Promise.reject(err);
    }
    // Queued for good: nothing can fail it any more, so no handler (a promise less per reply).
    if (sent === SENT) return sent;
    return sent.then(undefined, (err: unknown) => {
      if (errorIfTooLarge && err instanceof MicroError && err.code === Code.PayloadTooLarge) {
        this.host.logger.warn(`reply to ${socket.remote} too large: ${err.detail}`);
        const e = new MicroError(ID, `reply too large: ${err.detail}`, Code.PayloadTooLarge);
        return this.send(socket, { header: { ...message.header, [Header.Error]: String(e) }, body: EMPTY });
      }
      this.host.logger.debug(`reply to ${socket.remote} lost`, { err });
      return undefined;
    });
  }

  /** Why a new request is refused before reaching a handler, if it is. */
  private refusal(r: Routing): MicroError | undefined {
    if (this.host.draining) return MicroError.serviceUnavailable(ID, "server is stopping");
    const max = this.host.maxInFlight ?? 0;
    if (max > 0 && this.host.inflight.count >= max) {
      const endpoint = r.endpoint || r.method || "";
      if (!this.host.maxInFlightExempt?.includes(endpoint)) {
        return MicroError.serviceUnavailable(ID, "server overloaded");
      }
    }
    return undefined;
  }

  /**
   * One unary request. The handler's result or error is answered once: when the handler settles,
   * or at once when the request ends early (deadline, caller gone, forced stop).
   */
  private serveUnary(msg: Message, r: Routing): void {
    const { socket } = this;
    // Refused before it counts as in flight: a storm of refusals cannot inflate the count.
    const refused = this.refusal(r);
    if (refused) {
      void this.send(socket, {
        header: this.replyHeader(r.id, { [Header.Error]: String(refused) }),
        body: EMPTY,
      });
      return;
    }
    this.host.inflight.enter();
    const contentType = r.contentType || this.host.router.defaultContentType;
    const envelope = this.host.router.envelopeOf(r);
    let unwrapped: EnvelopeRequest | undefined;
    let ctx: RequestContext | undefined;
    let codec: Codec | undefined;
    let responseType: unknown;
    let answered = false;
    const answer = (result: unknown, err: unknown) => {
      if (answered) return;
      answered = true;
      if (ctx) this.host.active.delete(ctx);
      this.host.inflight.leave();
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
        void this.send(
          socket,
          { header: this.replyHeader(r.id, { [Header.ContentType]: contentType }), body: out },
          true,
        );
        return;
      }
      const e = MicroError.from(err, this.host.serviceName);
      if (e.code >= 500 && e.id !== ID) this.host.logger.error(`handler failed: ${e.detail}`, { err });
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
        route = this.host.router.route(unwrapped.endpoint, envelope.bodyContentType);
      } else {
        route = this.host.router.route(r.endpoint || r.method || "", contentType);
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
      const c = this.context(r, method.endpoint, msg.header, (reason) => answer(undefined, reason));
      ctx = c;
      if (c.done) {
        // Already answered from inside `context`: the server had stopped.
        this.host.active.delete(c);
        return;
      }
      const request: ServerRequest = {
        service: this.host.serviceName,
        endpoint: method.endpoint,
        contentType: route.contentType,
        kind: method.kind,
        body,
      };
      runWithContext(c, () => this.host.router.chain(request, c)).then(
        (result) => answer(result, undefined),
        (err: unknown) =>
          answer(undefined, err ?? MicroError.internalServerError(this.host.serviceName, "handler failed")),
      );
    } catch (err) {
      answer(undefined, err);
    }
  }

  private async serveStream(
    first: Message,
    r: Routing,
    streamId: string,
    stream: InboundStream,
  ): Promise<void> {
    const { socket } = this;
    const base: Record<string, string> = { [Header.Stream]: streamId };
    const refused = this.refusal(r);
    if (refused) {
      await this.send(socket, { header: { ...base, [Header.Error]: String(refused) }, body: EMPTY });
      stream.input.end();
      return;
    }
    this.host.inflight.enter();
    let cleanup: (() => void) | undefined;
    try {
      const route = this.host.router.route(
        r.endpoint || r.method || "",
        r.contentType || this.host.router.defaultContentType,
      );
      if (route instanceof MicroError) throw route;
      const { method, codec, contentType } = route;
      base[Header.Service] = this.host.serviceName;
      base[Header.Endpoint] = method.endpoint;
      base[Header.Method] = method.endpoint;
      base[Header.ContentType] = contentType;
      const c = this.context(r, method.endpoint, first.header);
      cleanup = () => this.host.active.delete(c);
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
        service: this.host.serviceName,
        endpoint: method.endpoint,
        contentType,
        kind: method.kind,
        body,
      };
      const result = await Promise.race([
        runWithContext(c, () => this.host.router.chain(request, c)),
        c.expired,
      ]);
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
      const e = MicroError.from(err, this.host.serviceName);
      if (e.code >= 500 && e.id !== ID) this.host.logger.error(`stream handler failed: ${e.detail}`, { err });
      await this.send(socket, { header: { ...base, [Header.Error]: String(e) }, body: EMPTY });
    } finally {
      stream.input.end();
      cleanup?.();
      this.host.inflight.leave();
    }
  }

  /** An event sent straight to the RPC port (a message with `Micro-Topic`). */
  private async serveEvent(msg: Message, topic: string): Promise<void> {
    const socket = this.socket;
    let extra: Record<string, string> = {};
    try {
      await this.host.handleEvent(topic, msg);
    } catch (err) {
      extra = { [Header.Error]: String(MicroError.from(err, ID)) };
    }
    await this.send(socket, { header: { ...msg.header, ...extra }, body: EMPTY });
  }
}

function isAsyncIterable(v: unknown): v is AsyncIterable<unknown> {
  return v !== null && typeof v === "object" && Symbol.asyncIterator in v;
}
