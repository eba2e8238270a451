import type {
  Broker,
  BrokerHandler,
  BrokerMessage,
  BrokerPublishOptions,
  IoOptions,
  SubscribeOptions,
  Subscriber,
} from "@microts/core";
import { encodeMessageEnvelope, MicroError } from "@microts/core";
import {
  abortReason,
  deadlineSignal,
  keepError,
  raceDeadline,
  raceSignal,
  runHandler,
  sleep,
  unlessInsideHandler,
} from "@microts/core/internal";
import type { ConsumerConfig, ConsumerMessages, JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { nanos, nuid } from "@nats-io/transport-node";
import type { NatsConnectionConfig } from "./connection.js";
import { Connector, errorText } from "./connection.js";
import { deliver } from "./jetstream-delivery.js";
import { StreamManager, streamError } from "./jetstream-stream.js";
import { reportError } from "./report-error.js";
import { durableName, safeName } from "./subjects.js";

/** Options for {@link createJetStreamBroker}. */
export interface JetStreamBrokerOptions extends NatsConnectionConfig {
  /** The stream every topic of this broker is stored in (created when missing). Default `MICRO`. */
  stream?: string | undefined;
  /**
   * The stream's subjects, fixed. Topics must fall under them (`orders.>` covers `orders.created`);
   * publishing or subscribing outside is a MicroError 400. Default: managed. The stream starts with
   * the first topic used and every new topic is added to it on first publish/subscribe, so any topic
   * (`user.created`, `greetings`) works and its subject stays exactly the topic.
   */
  subjects?: string[] | undefined;
  /** Stream storage when the broker creates the stream. Default `file` (survives a server restart). */
  storage?: "file" | "memory" | undefined;
  /**
   * Stream retention when the broker creates the stream. Default `limits`: messages stay until
   * `maxAgeMs` whether or not they were consumed (a consumer created later with `deliverPolicy:
   * "all"` can replay them). `interest` drops a message once every consumer interested in it acked
   * it, and at once when nobody subscribes; beware that nats-server 2.9 loses the newest acked
   * messages of an interest stream across a restart (our fault test shows it), so use it only on
   * newer servers. `workqueue` allows one consumer per subject.
   */
  retention?: "limits" | "interest" | "workqueue" | undefined;
  /** Maximum age of stored messages in ms when the broker creates the stream; 0 = unlimited. Default 86 400 000 (24 h). */
  maxAgeMs?: number | undefined;
  /** Window in ms in which a repeated `Micro-ID` is stored once (publish retries). Default 120 000. */
  duplicateWindowMs?: number | undefined;
  /** Time in ms a delivery may stay unacknowledged before JetStream redelivers it. Default 30 000. */
  ackWaitMs?: number | undefined;
  /**
   * Deliveries of one message before JetStream gives up on it; -1 = unlimited. When a `nack` meets
   * the limit the message is terminated and reported to `onError`. Default -1.
   */
  maxDeliver?: number | undefined;
  /** Unacknowledged deliveries a consumer may have outstanding. Default 1000. */
  maxAckPending?: number | undefined;
  /** Messages a subscriber pulls ahead of its handler. Default 64. */
  prefetch?: number | undefined;
  /** Delay in ms before a nacked message is redelivered. Default 0 (at once). */
  nackDelayMs?: number | undefined;
  /**
   * Where a newly created consumer starts: `new` (messages published from now on) or `all` (every
   * message the stream still holds). An existing durable consumer resumes where it was. Default `new`.
   */
  deliverPolicy?: "new" | "all" | undefined;
  /** Time budget in ms for `publish` (including retries while reconnecting). Default 5000. */
  publishTimeoutMs?: number | undefined;
  /**
   * A broadcast subscriber's consumer is deleted by the server after this many ms without its
   * subscriber (e.g. the process crashed); unsubscribe deletes it at once. Default 300 000.
   */
  inactiveThresholdMs?: number | undefined;
}

const ID = "go.micro.broker";
/** Longest wait for one publish attempt's PubAck before retrying, in ms. */
const ATTEMPT_MS = 2_000;

interface Ctx {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  streams: StreamManager;
}

interface JsSub {
  active: boolean;
  durable: boolean;
  name: string;
  messages: ConsumerMessages | undefined;
  done: Promise<void>;
  lastSeq: number;
}

/**
 * A durable broker on NATS JetStream. Every topic is a subject of one stream (`stream`, default
 * `MICRO`); the subject is the topic itself, so Go Micro's core-NATS subscribers on the same topic
 * also receive what this broker publishes (same `{"Header":...,"Body":...}` envelope) and what Go
 * publishes on a captured subject is stored too.
 *
 * Delivery is at-least-once: `publish` resolves after JetStream's PubAck (the message is stored;
 * an attempt without PubAck within 2 s is retried until `publishTimeoutMs`, with the `Micro-ID`
 * header, or a fresh id, as `Nats-Msg-Id` so a retry is stored once). A queue group is one durable pull consumer (name derived from the queue
 * and topic) shared by the members: each message goes to one member and survives restarts of both
 * sides. A subscriber without a queue gets its own consumer, deleted on unsubscribe. Deliveries
 * need an ack: `ack()` acks, `nack()` naks (redelivered after `nackDelayMs`), `nack(false)`
 * terminates; with autoAck (default) the handler's success acks and a throw naks. A delivery not
 * acked within `ackWaitMs` is redelivered. Messages may arrive more than once: dedupe by `Micro-ID`.
 * Undecodable payloads are terminated and reported to `onError` (400).
 */
export function createJetStreamBroker(options: JetStreamBrokerOptions = {}): Broker {
  const stream = options.stream ?? "MICRO";
  const ackWaitMs = options.ackWaitMs ?? 30_000;
  const maxDeliver = options.maxDeliver ?? -1;
  const prefetch = Math.max(1, options.prefetch ?? 64);
  const publishTimeoutMs = options.publishTimeoutMs ?? 5_000;
  const subs = new Set<JsSub>();
  let connector = new Connector(ID, options);
  let ctx: Ctx | undefined;
  let ctxPending: Promise<Ctx> | undefined;
  let connected = false;

  const open = async (io: IoOptions): Promise<Ctx> => {
    if (connector.isClosed) connector = new Connector(ID, options);
    const nc = await connector.connect({
      signal: io.signal,
      timeoutMs: io.timeoutMs ?? options.connectTimeoutMs ?? 5_000,
    });
    connected = true;
    if (ctx && ctx.nc === nc) return ctx;
    ctxPending ??= (async () => {
      let jsm: JetStreamManager;
      try {
        jsm = await jetstreamManager(nc);
      } catch (err) {
        throw streamError("connect", err);
      }
      const streams = new StreamManager(jsm, {
        stream,
        subjects: options.subjects,
        storage: options.storage ?? "file",
        retention: options.retention ?? "limits",
        maxAgeMs: options.maxAgeMs ?? 86_400_000,
        duplicateWindowMs: options.duplicateWindowMs ?? 120_000,
      });
      ctx = { nc, js: jetstream(nc), jsm, streams };
      return ctx;
    })().finally(() => {
      ctxPending = undefined;
    });
    return ctxPending;
  };

  const consumerConfig = (topic: string, name: string, durable: boolean, startSeq: number) => {
    const cfg: Partial<ConsumerConfig> = {
      durable_name: name,
      ack_policy: AckPolicy.Explicit,
      ack_wait: nanos(ackWaitMs),
      max_deliver: maxDeliver,
      max_ack_pending: options.maxAckPending ?? 1_000,
      filter_subject: topic,
      deliver_policy: options.deliverPolicy === "all" ? DeliverPolicy.All : DeliverPolicy.New,
    };
    if (startSeq > 0) {
      cfg.deliver_policy = DeliverPolicy.StartSequence;
      cfg.opt_start_seq = startSeq;
    }
    if (!durable) cfg.inactive_threshold = nanos(options.inactiveThresholdMs ?? 300_000);
    return cfg;
  };

  const addConsumer = async (c: Ctx, cfg: Partial<ConsumerConfig>) => {
    const name = cfg.durable_name ?? "";
    try {
      await c.jsm.consumers.add(stream, cfg);
    } catch (err) {
      // An existing durable with other settings: adopt the new limits where JetStream allows it.
      try {
        await c.jsm.consumers.update(stream, name, {
          ack_wait: cfg.ack_wait,
          max_deliver: cfg.max_deliver,
          max_ack_pending: cfg.max_ack_pending,
        });
      } catch {
        throw streamError(`create consumer ${name}`, err);
      }
    }
  };

  const stop = async (s: JsSub) => {
    if (!s.active) return;
    s.active = false;
    subs.delete(s);
    // The handler in progress finishes (and is acked) first. When that handler is the caller, this
    // resolves now and the rest follows once it has returned.
    await unlessInsideHandler(s, finish(s));
  };

  const finish = async (s: JsSub) => {
    await s.messages?.close().catch(() => {});
    await s.done;
    if (!s.durable && ctx) {
      // A broadcast subscriber's consumer dies with it; a queue group's durable consumer stays so
      // the group's messages wait for its members.
      await ctx.jsm.consumers.delete(stream, s.name).catch(() => {});
    }
  };

  const consume = async (
    c: Ctx,
    s: JsSub,
    topic: string,
    handler: BrokerHandler,
    opts: SubscribeOptions,
  ): Promise<void> => {
    const consumer = await c.js.consumers.get(stream, s.name);
    const messages = await consumer.consume({ max_messages: prefetch });
    s.messages = messages;
    let recreating = false;
    void (async () => {
      for await (const st of messages.status()) {
        if (!s.active) break;
        if ((st.type === "consumer_not_found" || st.type === "stream_not_found") && !recreating) {
          // The server lost the consumer (deleted, expired while we were away, storage wiped):
          // create it again, resuming after the last message we saw.
          recreating = true;
          try {
            if (st.type === "stream_not_found") c.streams.reset();
            await c.streams.ensure(topic);
            await addConsumer(c, consumerConfig(topic, s.name, s.durable, s.lastSeq > 0 ? s.lastSeq + 1 : 0));
          } catch (err) {
            reportError(opts.onError, err);
          } finally {
            recreating = false;
          }
        }
      }
    })().catch(() => {});
    s.done = deliver(messages, {
      topic,
      handler,
      options: opts,
      isActive: () => s.active,
      onSeq: (seq) => {
        s.lastSeq = seq;
      },
      inHandler: (fn) => runHandler(s, fn),
      maxDeliver,
      nackDelayMs: options.nackDelayMs ?? 0,
    });
  };

  return {
    name: "nats",
    get address() {
      return connected ? connector.address : "";
    },
    async connect(io: IoOptions = {}) {
      await open(io);
    },
    async disconnect() {
      await Promise.all([...subs].map(stop));
      ctx = undefined;
      await connector.close();
      connected = false;
    },
    async publish(topic: string, message: BrokerMessage, opts: BrokerPublishOptions = {}) {
      if (!topic) throw MicroError.badRequest(ID, "publish: topic is required");
      const what = `publish ${topic}`;
      const budget = opts.timeoutMs ?? publishTimeoutMs;
      const deadline = Date.now() + budget;
      const data = encodeMessageEnvelope(message);
      const msgID = message.header["Micro-ID"] || message.header["Micro-Id"] || nuid.next();
      let last: unknown;
      const c0 = ctx;
      if (c0?.streams.covers(topic) && !opts.signal?.aborted) {
        // The usual case, connected and the topic in the stream: one attempt under a timer, with
        // no AbortController (it would cost more than the rest); a retryable failure goes on below.
        const timeout = Math.max(1, Math.min(ATTEMPT_MS, budget));
        try {
          await raceDeadline(
            ID,
            what,
            opts,
            budget,
            () => c0.js.publish(topic, data, { msgID, timeout }),
            keepError,
          );
          return;
        } catch (err) {
          if (err instanceof MicroError && (err.code === 408 || err.code === 499)) throw err;
          if (!retryable(err)) throw publishError(what, err);
          last = err;
          if (/no responders/i.test(errorText(err))) c0.streams.reset();
        }
      }
      const d = deadlineSignal(ID, what, opts.signal, Math.max(0, deadline - Date.now()));
      try {
        for (;;) {
          if (d.signal.aborted) throw abortReason(ID, what, d.signal);
          try {
            const c = await open({ signal: d.signal });
            await raceSignal(c.streams.ensure(topic), d.signal, ID, what);
            // A PubAck lost in a server restart must not eat the whole budget: retry (deduplicated).
            const timeout = Math.max(1, Math.min(ATTEMPT_MS, deadline - Date.now()));
            await raceSignal(c.js.publish(topic, data, { msgID, timeout }), d.signal, ID, what);
            return;
          } catch (err) {
            if (d.signal.aborted) throw abortReason(ID, what, d.signal);
            if (!retryable(err)) throw publishError(what, err);
            last = err;
            if (/no responders/i.test(errorText(err))) ctx?.streams.reset();
          }
          // Reconnecting or the stream is moving: try again with the same id (stored once).
          await sleep(Math.min(250, Math.max(0, deadline - Date.now())), d.signal, ID);
        }
      } catch (err) {
        if (err instanceof MicroError && err.code === 408 && last !== undefined) {
          throw MicroError.timeout(ID, `${what}: no PubAck within ${budget}ms: ${errorText(last)}`, {
            cause: last,
          });
        }
        throw err;
      } finally {
        d.cleanup();
      }
    },
    async subscribe(topic: string, handler: BrokerHandler, opts: SubscribeOptions = {}): Promise<Subscriber> {
      if (!topic) throw MicroError.badRequest(ID, "subscribe: topic is required");
      const c = await open({});
      await c.streams.ensure(topic);
      const durable = Boolean(opts.queue);
      const name = opts.queue ? durableName(opts.queue, topic) : `${safeName(topic, 40)}_${nuid.next()}`;
      await addConsumer(c, consumerConfig(topic, name, durable, 0));
      const s: JsSub = {
        active: true,
        durable,
        name,
        messages: undefined,
        done: Promise.resolve(),
        lastSeq: 0,
      };
      try {
        await consume(c, s, topic, handler, opts);
      } catch (err) {
        if (!durable) await c.jsm.consumers.delete(stream, name).catch(() => {});
        throw streamError(`subscribe ${topic}`, err);
      }
      subs.add(s);
      const unsubscribe = () => stop(s);
      return { topic, options: { ...opts }, unsubscribe, [Symbol.asyncDispose]: unsubscribe };
    },
  };
}

function retryable(err: unknown): boolean {
  if (err instanceof MicroError) return err.code === 503;
  const name = err instanceof Error ? err.name : "";
  if (name === "TimeoutError" || name === "NoRespondersError" || name === "RequestError") return true;
  return /no responders|timeout|timed out|disconnect|reconnect/i.test(errorText(err));
}

function publishError(what: string, err: unknown): MicroError {
  if (err instanceof MicroError) return err;
  const text = errorText(err);
  if (/max_payload|payload|subject/i.test(text)) return MicroError.badRequest(ID, `${what}: ${text}`);
  return MicroError.serviceUnavailable(ID, `${what}: ${text}`, { cause: err });
}
