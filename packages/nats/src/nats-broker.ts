import type {
  Broker,
  BrokerEvent,
  BrokerHandler,
  BrokerMessage,
  BrokerPublishOptions,
  IoOptions,
  SubscribeOptions,
  Subscriber,
} from "@microts/core";
import { decodeMessageEnvelope, encodeMessageEnvelope, MicroError } from "@microts/core";
import { runHandler, unlessInsideHandler } from "@microts/core/internal";
import type { Msg, NatsConnection, Subscription } from "@nats-io/transport-node";
import type { NatsConnectionConfig } from "./connection.js";
import { Connector, errorText, flushConnection } from "./connection.js";
import type { JetStreamBrokerOptions } from "./jetstream-broker.js";
import { createJetStreamBroker } from "./jetstream-broker.js";
import { publishRefusal, publishSoon } from "./publish-soon.js";
import { reportError } from "./report-error.js";
import { hasWildcard } from "./subjects.js";

/** Options for {@link createNatsBroker}. */
export interface NatsBrokerOptions extends NatsConnectionConfig {
  /**
   * Durable, at-least-once mode on JetStream: `createNatsBroker({ jetstream: {...} })` is the same as
   * `createJetStreamBroker({ ...connection options, ...jetstream })`. Default: off (core NATS).
   */
  jetstream?: Omit<JetStreamBrokerOptions, keyof NatsConnectionConfig> | true | undefined;
  /**
   * Make `publish` wait for a round trip to the server (a flush), so it resolves only once the
   * server has the message. Default false: `publish` resolves when the message is queued on the
   * connection, like Go's `conn.Publish` (see {@link createNatsBroker} for when it is written).
   */
  flushOnPublish?: boolean | undefined;
}

const ID = "go.micro.broker";

interface ActiveSub {
  sub: Subscription;
  /** The subject of every message when the topic has no wildcard (nats.js decodes it otherwise). */
  subject: string | undefined;
  active: boolean;
  /** The handler call in progress, when it returned a promise that has not settled. */
  busy: Promise<void> | undefined;
  /** Messages that arrived while a handler was busy, delivered in order after it. */
  backlog: Msg[];
}

/**
 * A broker on core NATS, wire-compatible with Go Micro's `broker/nats`: the subject is the topic
 * (NATS wildcards `*` and `>` work in subscriptions), the queue group is the `queue` option, the
 * payload is Go's JSON `broker.Message`: `{"Header":{sorted keys},"Body":"<base64>"}`.
 *
 * `publish` checks what the connection would refuse at once (a closed connection: 503; an empty
 * subject or one with white space, a message over the server's `max_payload`: 400) and queues the
 * message. Messages published in one tick are written together at its end (64 KiB at most wait),
 * however many promises the caller awaited in between, in the order they were published;
 * `disconnect` and `flushOnPublish` write them first.
 *
 * Delivery is at-most-once: no acks (`ack`/`nack` are no-ops), messages published while nobody
 * subscribes or while a subscriber is disconnected are lost. Each subscriber handles its messages
 * one at a time, in order. Payloads that are not such an envelope go to `onError` (MicroError 400)
 * and are skipped; a throwing handler's error goes to `onError` too. The client reconnects forever
 * by default and subscriptions resume by themselves after a server restart.
 *
 * With `jetstream` set it returns the durable broker of {@link createJetStreamBroker} instead.
 */
export function createNatsBroker(options: NatsBrokerOptions = {}): Broker {
  if (options.jetstream) {
    const { jetstream, flushOnPublish: _flush, ...conn } = options;
    return createJetStreamBroker({ ...(jetstream === true ? {} : jetstream), ...conn });
  }
  let connector = new Connector(ID, options);
  let connected = false;
  const subs = new Set<ActiveSub>();

  const conn = async (io: IoOptions = {}): Promise<NatsConnection> => {
    if (connector.isClosed) connector = new Connector(ID, options);
    const nc = await connector.connect({
      signal: io.signal,
      timeoutMs: io.timeoutMs ?? options.connectTimeoutMs ?? 5_000,
    });
    connected = true;
    return nc;
  };

  const flush = (nc: NatsConnection, io: IoOptions, what: string) =>
    flushConnection(ID, nc, io, what, options.connectTimeoutMs ?? 5_000);

  const stop = async (s: ActiveSub) => {
    if (!s.active) return;
    s.active = false;
    subs.delete(s);
    s.sub.unsubscribe();
    s.backlog = [];
    // A handler that unsubscribes its own subscription must not wait for itself.
    if (s.busy !== undefined) await unlessInsideHandler(s, s.busy);
  };

  /**
   * Hands one message to the handler. Handlers of one subscription run one at a time, in order
   * (as nats.go calls a subscription's callback): while one is busy, later messages wait.
   */
  const deliver = (s: ActiveSub, handler: BrokerHandler, opts: SubscribeOptions, m: Msg): void => {
    let message: BrokerMessage;
    try {
      message = decodeMessageEnvelope(m.data);
    } catch (err) {
      reportError(
        opts.onError,
        MicroError.badRequest(ID, `nats: undecodable message on ${m.subject}: ${errorText(err)}`, {
          cause: err,
        }),
      );
      return;
    }
    const event: BrokerEvent = { topic: s.subject ?? m.subject, message, ack: noAck, nack: noAck };
    let result: unknown;
    try {
      result = runHandler(s, handler, event);
    } catch (err) {
      // No acks on core NATS: the message is dropped; someone should still hear about it.
      reportError(opts.onError, err);
      return;
    }
    if (result instanceof Promise) {
      s.busy = result.then(
        () => drain(s, handler, opts),
        (err: unknown) => {
          reportError(opts.onError, err);
          drain(s, handler, opts);
        },
      );
    }
  };

  const drain = (s: ActiveSub, handler: BrokerHandler, opts: SubscribeOptions): void => {
    s.busy = undefined;
    const backlog = s.backlog;
    while (backlog.length > 0 && s.busy === undefined && s.active) {
      deliver(s, handler, opts, backlog.shift() as Msg);
    }
  };

  const publishOn = (
    nc: NatsConnection,
    topic: string,
    message: BrokerMessage,
    opts: BrokerPublishOptions,
  ): Promise<void> => {
    const data = encodeMessageEnvelope(message);
    const refused = publishRefusal(ID, nc, topic, data.length);
    if (refused !== undefined) return Promise.reject(refused);
    publishSoon(nc, topic, data);
    connected = true;
    return options.flushOnPublish ? flush(nc, opts, `publish ${topic}`) : RESOLVED;
  };

  return {
    name: "nats",
    get address() {
      return connected ? connector.address : "";
    },
    async connect(io: IoOptions = {}) {
      await conn(io);
    },
    async disconnect() {
      await Promise.all([...subs].map(stop));
      await connector.close();
      connected = false;
    },
    publish(topic: string, message: BrokerMessage, opts: BrokerPublishOptions = {}): Promise<void> {
      if (!topic) return Promise.reject(MicroError.badRequest(ID, "publish: topic is required"));
      if (opts.signal?.aborted) return Promise.reject(MicroError.canceled(ID, `publish ${topic}: canceled`));
      // Connected (the usual case): publish at once, without waiting a turn for the connection.
      const open = connector.isClosed ? undefined : connector.current;
      if (open === undefined) return conn(opts).then((nc) => publishOn(nc, topic, message, opts));
      return publishOn(open, topic, message, opts);
    },
    async subscribe(topic: string, handler: BrokerHandler, opts: SubscribeOptions = {}): Promise<Subscriber> {
      if (!topic) throw MicroError.badRequest(ID, "subscribe: topic is required");
      const nc = await conn();
      const s: ActiveSub = {
        sub: undefined as unknown as Subscription,
        subject: hasWildcard(topic) ? undefined : topic,
        active: true,
        busy: undefined,
        backlog: [],
      };
      const callback = (err: Error | null, m: Msg) => {
        if (err) {
          reportError(
            opts.onError,
            MicroError.serviceUnavailable(ID, `nats: subscription ended: ${errorText(err)}`),
          );
          return;
        }
        if (!s.active) return;
        if (s.busy !== undefined) s.backlog.push(m);
        else deliver(s, handler, opts, m);
      };
      try {
        s.sub = nc.subscribe(topic, opts.queue ? { queue: opts.queue, callback } : { callback });
      } catch (err) {
        throw MicroError.badRequest(ID, `subscribe ${topic}: ${errorText(err)}`, { cause: err });
      }
      subs.add(s);
      // Resolves once the server knows the subscription: a publish made afterwards reaches it.
      await flush(nc, {}, `subscribe ${topic}`);
      const unsubscribe = () => stop(s);
      return { topic, options: { ...opts }, unsubscribe, [Symbol.asyncDispose]: unsubscribe };
    },
  };
}

const RESOLVED = Promise.resolve();

/** Core NATS has no acks: `ack` and `nack` do nothing. */
async function noAck(): Promise<void> {}
