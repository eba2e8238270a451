import type {
  Broker,
  BrokerHandler,
  BrokerMessage,
  BrokerPublishOptions,
  IoOptions,
  SubscribeOptions,
  Subscriber,
} from "@microts/core";
import { MicroError } from "@microts/core";
import { deadlineSignal, raceSignal } from "@microts/core/internal";
import { ConnectionManager } from "./connection-manager.js";
import { ID } from "./errors.js";
import { type RabbitmqBrokerOptions, resolveOptions } from "./options.js";
import { Publisher } from "./publisher.js";
import { Subscription } from "./subscription.js";

/**
 * A broker on RabbitMQ (AMQP 0-9-1), wire-compatible with Go Micro's `broker/rabbitmq`:
 *
 * - `publish(topic, msg)` sends to the exchange (default `micro`, type topic) with routing key =
 *   topic, AMQP headers = the message headers (strings) and body = the raw message body, no
 *   envelope. With `confirmPublish` (default) it resolves on the broker's confirm and rejects with
 *   503 on a nack; a publish that loses its connection waits for the reconnection and is sent again,
 *   until its `timeoutMs` (408), its `signal` (499) or, without `timeoutMs`, `publishTimeoutMs`
 *   (503). It is never dropped silently, but may arrive twice.
 * - `subscribe(topic, h, { queue })` consumes from a queue bound to the exchange with the topic as
 *   binding key: the queue named exactly `queue` (durable unless `durableQueues: false`) shared by
 *   the group's members, or, without `queue`, an exclusive auto-delete server-named queue per
 *   subscriber. Acks are manual: with auto-ack the broker acks when the handler resolves and nacks
 *   (requeue per `requeueOnError`, default true) when it throws. `redelivered` is 1 when RabbitMQ's
 *   redelivered flag is set (or the quorum-queue `x-delivery-count`), else 0. Header values that are
 *   not strings (numbers, byte arrays, timestamps) become strings; a missing `Micro-Topic` header
 *   is filled from the routing key, as Go does.
 * - A lost connection or channel is re-established with back-off; the exchange, queues and
 *   bindings are re-declared and consumers resume.
 *
 * Delivery: broadcast subscribers are at-most-once (their queue disappears with the connection);
 * queue groups on durable queues with persistent messages are at-least-once across broker restarts.
 * `connect`/first use rejects with 503 when the broker is unreachable.
 */
export function createRabbitmqBroker(options: RabbitmqBrokerOptions = {}): Broker {
  const opts = resolveOptions(options);
  const manager = new ConnectionManager(opts);
  const publisher = new Publisher(manager, opts);
  const subs = new Set<Subscription>();
  let used = false;

  return {
    name: "rabbitmq",
    get address() {
      return used ? opts.safeAddress : "";
    },
    async connect(io: IoOptions = {}) {
      used = true;
      const { signal, cleanup } = deadlineSignal(ID, "connect", io.signal, io.timeoutMs);
      try {
        await manager.get(signal);
      } finally {
        cleanup();
      }
    },
    async disconnect(io: IoOptions = {}) {
      const all = [...subs];
      subs.clear();
      const { signal, cleanup } = deadlineSignal(ID, "disconnect", io.signal, io.timeoutMs);
      try {
        // In-flight handlers finish first (bounded by the caller's deadline), then the connection goes.
        const drained = Promise.all(all.map((s) => s.unsubscribe().catch(() => {})));
        await raceSignal(drained, signal, ID, "disconnect").catch(() => {});
      } finally {
        cleanup();
        await publisher.close();
        await manager.close();
      }
    },
    publish(topic: string, message: BrokerMessage, io?: BrokerPublishOptions) {
      used = true;
      return publisher.publish(topic, message, io);
    },
    async subscribe(topic: string, handler: BrokerHandler, so: SubscribeOptions = {}): Promise<Subscriber> {
      if (!topic) throw MicroError.badRequest(ID, "subscribe: topic is required");
      used = true;
      const sub = new Subscription(topic, handler, so, manager, opts);
      await sub.start(() => subs.delete(sub));
      subs.add(sub);
      return sub;
    },
  };
}
