import type { Codec } from "../codec/codec.js";
import { MicroError } from "../errors/micro-error.js";
import { abortReason } from "../internal/signals.js";
import { EOS, getHeader, Header } from "../rpc/headers.js";
import { remoteError } from "../rpc/remote-error.js";
import type { Socket } from "../transport/transport.js";
import { type CallScope, callScope } from "./call-scope.js";
import type { CallOptions, ClientStream, Request } from "./client.js";
import type { ClientCore } from "./rpc-client.js";

const ID = "go.micro.client";
const EMPTY = new Uint8Array(0);

/**
 * A stream on its own connection, as Go Micro does it: every message carries `Micro-Stream`;
 * the first message is a placeholder the server discards; `Micro-Error: EOS` ends each direction.
 */
export class RpcClientStream<Req, Res> implements ClientStream<Req, Res> {
  private opening: Promise<Socket> | undefined;
  private socket: Socket | undefined;
  private header: Record<string, string> = {};
  private codec: Codec | undefined;
  private scope: CallScope | undefined;
  private sentEos = false;
  private ended = false;
  private closed = false;
  private failure: MicroError | undefined;
  private detach: (() => void) | undefined;

  constructor(
    private readonly core: ClientCore,
    readonly request: Request<Req | undefined>,
    private readonly hasInitialBody: boolean,
    private readonly options: CallOptions,
  ) {}

  private open(): Promise<Socket> {
    this.opening ??= this.connect();
    return this.opening;
  }

  private async connect(): Promise<Socket> {
    const { request, options, core } = this;
    const what = `stream ${request.service}.${request.endpoint}`;
    // Streams have no default deadline (Go's StreamTimeout is 0); a handler's deadline still applies.
    const scope = callScope(what, options, undefined);
    this.scope = scope;
    const onAbort = () => this.fail(abortReason(ID, what, scope.signal));
    scope.signal.addEventListener("abort", onAbort, { once: true });
    // Without a deadline the scope's signal is the caller's own: do not leave a listener on it.
    this.detach = () => scope.signal.removeEventListener("abort", onAbort);
    this.codec = core.codec(request.contentType);
    const next = await core.resolveNodes(request.service, options, scope);
    const retries = options.retries ?? core.defaults.retries;
    const tried = new Set<string>();
    let socket: Socket | undefined;
    for (let n = 0; !socket; n++) {
      const node = next(tried);
      tried.add(node.id);
      try {
        socket = await core.transport.dial(node.address, { stream: true, signal: scope.signal });
        core.selector.mark(request.service, node);
      } catch (err) {
        core.selector.mark(request.service, node, err);
        if (scope.signal.aborted) throw abortReason(ID, what, scope.signal);
        // Only connection failures are retried: nothing was sent yet.
        if (n >= retries) throw MicroError.from(err, ID, 503);
      }
    }
    this.socket = socket;
    if (this.closed) {
      await socket.close();
      throw this.failure ?? MicroError.canceled(ID, `${what}: closed`);
    }
    const id = core.nextId();
    this.header = core.requestHeader(request, scope.metadata, id, scope.deadline);
    this.header[Header.Stream] = id;
    await socket.send({ header: this.header, body: EMPTY });
    if (this.hasInitialBody)
      await socket.send({ header: this.header, body: this.codec.marshal(request.body, options.requestType) });
    return socket;
  }

  private fail(err: MicroError): void {
    this.failure ??= err;
    void this.shutdown();
  }

  private async shutdown(): Promise<void> {
    this.closed = true;
    this.detach?.();
    this.scope?.cleanup();
    await this.socket?.close();
  }

  async send(message: Req): Promise<void> {
    const socket = await this.open();
    if (this.failure) throw this.failure;
    if (this.sentEos) throw MicroError.badRequest(ID, "send after closeSend");
    try {
      await socket.send({
        header: this.header,
        body: (this.codec as Codec).marshal(message, this.options.requestType),
      });
    } catch (err) {
      throw this.failure ?? MicroError.from(err, ID, 503);
    }
  }

  async closeSend(): Promise<void> {
    const socket = await this.open();
    if (this.sentEos || this.ended || this.failure) return;
    this.sentEos = true;
    await socket.send({ header: { ...this.header, [Header.Error]: EOS }, body: EMPTY });
  }

  async recv(): Promise<Res | undefined> {
    const socket = await this.open();
    if (this.ended) return undefined;
    if (this.failure) throw this.failure;
    let msg: Awaited<ReturnType<Socket["recv"]>>;
    try {
      msg = await socket.recv();
    } catch (err) {
      throw this.failure ?? MicroError.from(err, ID, 503);
    }
    const errText = getHeader(msg.header, Header.Error);
    if (errText === EOS) {
      this.ended = true;
      await this.shutdown();
      return undefined;
    }
    if (errText) {
      this.fail(remoteError(errText));
      throw this.failure;
    }
    try {
      return (this.codec as Codec).unmarshal(msg.body, this.options.responseType) as Res;
    } catch (err) {
      this.fail(MicroError.from(err, "go.micro.client.codec"));
      throw this.failure;
    }
  }

  async response(): Promise<Res> {
    await this.closeSend();
    const r = await this.recv();
    if (r === undefined) throw MicroError.internalServerError(ID, "stream ended without a response");
    await this.close();
    return r;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (!this.opening) {
      this.closed = true;
      return;
    }
    try {
      const socket = await this.opening;
      if (!this.ended && !this.sentEos && !this.failure) {
        this.sentEos = true;
        await socket.send({ header: { ...this.header, [Header.Error]: EOS }, body: EMPTY }).catch(() => {});
      }
    } catch {
      // the stream never opened: nothing to tell the server
    }
    await this.shutdown();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Res> {
    try {
      for (;;) {
        const v = await this.recv();
        if (v === undefined) return;
        yield v;
      }
    } finally {
      if (!this.ended) await this.close();
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
