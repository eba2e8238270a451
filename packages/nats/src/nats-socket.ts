import type { IoOptions, Message, Socket } from "@microts/core";
import { decodeMessageEnvelope, encodeMessageEnvelope, MicroError } from "@microts/core";
import { deferred, getOrInsert } from "@microts/core/internal";
import type { Msg, MsgHdrs, NatsConnection, PublishOptions } from "@nats-io/transport-node";
import { headers as natsHeaders } from "@nats-io/transport-node";
import { CHUNK_HEADER, Reassembler, splitPayload } from "./chunks.js";
import { errorText } from "./connection.js";
import { decodeFrame, encodeFrame, isFrame } from "./frame.js";
import { Mailbox } from "./mailbox.js";
import { type PublishOwner, publishSoon } from "./publish-soon.js";

const ID = "go.micro.transport";

/**
 * NATS message header (outside the Go JSON payload, so Go peers never see it) that marks our
 * transport's messages: {@link TS_DATA} on JSON data messages, `close` on the message that ends a
 * session, `probe` on a dial's probe.
 */
export const CONTROL_HEADER = "Micro-Transport";

/**
 * {@link CONTROL_HEADER} value on JSON data messages of a micro-ts end that reads binary frames
 * (`frame.ts`). An end that sees it (or a frame) sends frames from then on; `micro-ts` alone marks
 * a micro-ts end that reads only JSON.
 */
export const TS_DATA = "micro-ts; frames=1";

/** What a received NATS message means to a socket. */
export type Inbound =
  | { kind: "data"; message: Message; peerIsTs: boolean; peerFrames: boolean }
  | { kind: "partial" }
  | { kind: "close" }
  | { kind: "probe" }
  | { kind: "no-responders" }
  | { kind: "malformed"; error: string };

/**
 * Classifies a NATS message arriving for a socket; pieces of a chunked message go through
 * `chunks` and yield `partial` until the last one. `chunks` is the peer's reassembler, or a table
 * of them by peer (`peer` is the key), where one is made only when a piece arrives.
 */
export function classify(m: Msg, chunks: Reassembler | Map<string, Reassembler>, peer = ""): Inbound {
  const h = m.headers;
  if (h && m.data.length === 0 && h.code === 503) return { kind: "no-responders" };
  const control = h?.get(CONTROL_HEADER) ?? "";
  if (control === "close") return { kind: "close" };
  if (control === "probe") return { kind: "probe" };
  let data = m.data;
  const chunk = h?.get(CHUNK_HEADER) ?? "";
  if (chunk) {
    const r = (chunks instanceof Reassembler ? chunks : getOrInsert(chunks, peer, newReassembler)).add(
      chunk,
      m.data,
    );
    if (r.kind === "partial") return r;
    if (r.kind === "error") return { kind: "malformed", error: r.error };
    data = r.data;
  }
  try {
    if (isFrame(data)) return { kind: "data", message: decodeFrame(data), peerIsTs: true, peerFrames: true };
    const message = decodeMessageEnvelope(data);
    return { kind: "data", message, peerIsTs: control !== "", peerFrames: control === TS_DATA };
  } catch (err) {
    return { kind: "malformed", error: errorText(err) };
  }
}

function newReassembler(): Reassembler {
  return new Reassembler();
}

/**
 * Queues an empty control message (`close`, `probe`) carrying only the control header, behind the
 * data already queued on `nc` ({@link publishSoon}): a `close` never overtakes the last answers.
 */
export function publishControl(nc: NatsConnection, subject: string, kind: string, reply?: string): void {
  const h = natsHeaders();
  h.set(CONTROL_HEADER, kind);
  publishSoon(nc, subject, new Uint8Array(0), reply ? { headers: h, reply } : { headers: h });
}

/** Options of one {@link NatsSocket}. */
export interface NatsSocketInit {
  nc: NatsConnection;
  local: string;
  remote: string;
  /** Subject this end publishes to. */
  sendTo: string;
  /** Reply subject set on each message (the client's inbox); undefined on the server side. */
  replyTo: string | undefined;
  /** Send a close message to the peer on `close()`. */
  announceClose: () => boolean;
  /** Called once when the socket closes, whoever closed it. */
  onClose: () => void;
}

/**
 * One end of a NATS "connection": messages are published to the peer's subject and arrive through
 * `deliver` (fed by the client's inbox subscription or the listener's subscription).
 */
export class NatsSocket implements Socket, PublishOwner {
  readonly local: string;
  readonly remote: string;
  readonly closed: Promise<Error | undefined>;
  /** True once the peer showed it is a micro-ts transport (it understands close messages). */
  peerIsTs = false;
  /** True once the peer showed it reads binary frames: messages to it are frames from then on. */
  peerFrames = false;
  /** Epoch ms of the last message sent or received, for idle eviction. */
  lastActivity = Date.now();
  private readonly inbox = new Mailbox<Message>();
  private readonly closedD = deferred<Error | undefined>();
  private isClosed = false;
  private static readonly dataHeaders: MsgHdrs = (() => {
    const h = natsHeaders();
    h.set(CONTROL_HEADER, TS_DATA);
    return h;
  })();

  /** Subject this end publishes to. */
  get sendTo(): string {
    return this.init.sendTo;
  }

  /** Publish options of a frame and of a JSON envelope (which carries {@link TS_DATA}). */
  private readonly frameOptions: PublishOptions | undefined;
  private readonly jsonOptions: PublishOptions;

  constructor(private readonly init: NatsSocketInit) {
    this.local = init.local;
    this.remote = init.remote;
    this.closed = this.closedD.promise;
    const reply = init.replyTo;
    this.frameOptions = reply === undefined ? undefined : { reply };
    this.jsonOptions =
      reply === undefined ? { headers: NatsSocket.dataHeaders } : { headers: NatsSocket.dataHeaders, reply };
  }

  /** Feeds one received NATS message into the socket. */
  deliver(inbound: Inbound): void {
    if (this.isClosed) return;
    this.lastActivity = Date.now();
    switch (inbound.kind) {
      case "data":
        if (inbound.peerIsTs) this.peerIsTs = true;
        if (inbound.peerFrames) this.peerFrames = true;
        this.inbox.push(inbound.message);
        return;
      case "partial":
      case "probe":
        return;
      case "close":
        // The peer is gone: queued messages can still be read, then the socket ends.
        this.finish(undefined, false);
        return;
      case "no-responders":
        this.finish(
          MicroError.serviceUnavailable(ID, `nats: nobody listens on ${this.init.sendTo} (no responders)`),
          false,
        );
        return;
      case "malformed":
        this.finish(
          MicroError.badRequest(ID, `nats: malformed message from ${this.remote}: ${inbound.error}`),
          true,
        );
        return;
    }
  }

  /** A message queued by `send` was lost at hand-over: the caller hears of it through the socket. */
  publishFailed(err: unknown): void {
    this.fail(MicroError.serviceUnavailable(ID, `send to ${this.remote}: ${errorText(err)}`));
  }

  /** Fails the socket from outside (connection to NATS lost, transport closed). */
  fail(error: MicroError): void {
    this.finish(error, false);
  }

  /**
   * Queues `message` for the peer: as a binary frame without NATS headers once the peer showed it
   * reads frames, else as Go's JSON envelope marked with {@link TS_DATA}. Messages sent in one tick
   * are published together at its end, so NATS writes them to the connection in one go; when NATS
   * refuses one then, the socket fails with 503.
   */
  async send(message: Message, options: IoOptions = {}): Promise<void> {
    if (options.signal?.aborted) throw MicroError.canceled(ID, `send to ${this.remote}: canceled`);
    if (this.isClosed) throw MicroError.serviceUnavailable(ID, `send to ${this.remote}: connection closed`);
    const nc = this.init.nc;
    if (nc.isClosed()) throw MicroError.serviceUnavailable(ID, `send to ${this.remote}: connection closed`);
    const frames = this.peerFrames;
    const data = frames ? encodeFrame(message) : encodeMessageEnvelope(message);
    const pieces = splitPayload(data, nc.info?.max_payload ?? 1024 * 1024);
    const reply = this.init.replyTo;
    if (pieces.length === 1) {
      publishSoon(
        nc,
        this.init.sendTo,
        pieces[0] as Uint8Array,
        frames ? this.frameOptions : this.jsonOptions,
        this,
      );
    } else {
      // Queued back to back: pieces of concurrent sends never interleave.
      for (const [i, piece] of pieces.entries()) {
        const h = natsHeaders();
        h.set(CONTROL_HEADER, TS_DATA);
        h.set(CHUNK_HEADER, `${i + 1}/${pieces.length}`);
        publishSoon(
          nc,
          this.init.sendTo,
          piece,
          reply === undefined ? { headers: h } : { headers: h, reply },
          this,
        );
      }
    }
    this.lastActivity = Date.now();
  }

  async recv(options: IoOptions = {}): Promise<Message> {
    const r = await this.inbox.take(options, ID, `recv from ${this.remote}`);
    if (r.done) throw MicroError.serviceUnavailable(ID, `recv from ${this.remote}: connection closed`);
    return r.value;
  }

  tryRecv(): Message | undefined {
    return this.inbox.poll();
  }

  /** Yields messages until the socket ends; a failure ends it too (`closed` carries the error). */
  [Symbol.asyncIterator](): AsyncIterator<Message> {
    return this.inbox.iterator();
  }

  async close(): Promise<void> {
    this.finish(undefined, true);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  private finish(error: MicroError | undefined, announce: boolean): void {
    if (this.isClosed) return;
    this.isClosed = true;
    if (error) this.inbox.fail(error);
    else this.inbox.end();
    if (announce && this.init.announceClose()) {
      // Queued behind this socket's last messages; when the connection is gone by then, the peer
      // notices by itself (no responders, idle timeout).
      publishControl(this.init.nc, this.init.sendTo, "close", this.init.replyTo);
    }
    this.init.onClose();
    this.closedD.resolve(error);
  }
}
