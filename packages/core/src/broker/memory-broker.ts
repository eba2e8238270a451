import { MicroError } from "../errors/micro-error.js";
import { AsyncQueue } from "../internal/async-queue.js";
import { getOrInsert } from "../internal/maps.js";
import type {
  Broker,
  BrokerEvent,
  BrokerHandler,
  BrokerMessage,
  PublishOptions,
  SubscribeOptions,
  Subscriber,
} from "./broker.js";
import { insideHandler, runHandler, unlessInsideHandler } from "./handler-scope.js";

/** Options for {@link createMemoryBroker}. */
export interface MemoryBrokerOptions {
  /**
   * Deliveries of one message before a nack stops redelivering it. Default 1: a nacked message is
   * dropped (and reported to the subscriber's `onError`). Raise it to test redelivery logic.
   */
  maxDeliveries?: number;
  /** Messages queued per subscriber before `publish` waits for it to catch up. Default 10 000. */
  highWaterMark?: number;
}

const ID = "go.micro.broker";

interface Sub {
  topic: string;
  options: SubscribeOptions;
  handler: BrokerHandler;
  queue: AsyncQueue<{ message: BrokerMessage; deliveries: number }>;
  done: Promise<void>;
  active: boolean;
}

/**
 * An in-process broker. Subscribers without a queue each get every message; a queue group's
 * members take turns (round-robin), so each message reaches exactly one member. Each subscriber
 * handles its messages one at a time, in publish order. Delivery is at-most-once unless
 * `maxDeliveries` allows redelivery of nacked messages. Share one instance between the services that
 * must talk. Topics match exactly (no wildcards).
 */
export function createMemoryBroker(options: MemoryBrokerOptions = {}): Broker {
  const maxDeliveries = Math.max(1, options.maxDeliveries ?? 1);
  const hwm = options.highWaterMark ?? 10_000;
  const subs = new Map<string, Sub[]>();
  const cursors = new Map<string, number>();
  let connected = false;

  const enqueue = async (sub: Sub, message: BrokerMessage, deliveries: number) => {
    if (!sub.queue.push({ message, deliveries })) await sub.queue.whenWritable();
  };
  const pickGroupMember = (topic: string, queue: string, exclude?: Sub): Sub | undefined => {
    const members = (subs.get(topic) ?? []).filter((s) => s.active && s.options.queue === queue);
    const candidates = members.length > 1 && exclude ? members.filter((m) => m !== exclude) : members;
    if (candidates.length === 0) return undefined;
    const key = `${topic}\u0000${queue}`;
    const n = cursors.get(key) ?? 0;
    cursors.set(key, n + 1);
    return candidates[n % candidates.length];
  };

  const runSub = async (sub: Sub) => {
    for await (const item of sub.queue) {
      let settled = false;
      const settle = async (requeue: boolean | undefined) => {
        if (settled) return;
        settled = true;
        if (requeue === undefined) return; // ack
        if (requeue && item.deliveries < maxDeliveries) {
          const target = sub.options.queue ? pickGroupMember(sub.topic, sub.options.queue, sub) : sub;
          if (target) await enqueue(target, item.message, item.deliveries + 1);
          return;
        }
        sub.options.onError?.(
          MicroError.internalServerError(
            ID,
            `message on ${sub.topic} dropped after ${item.deliveries} deliveries`,
          ),
        );
      };
      const event: BrokerEvent = {
        topic: sub.topic,
        message: { header: { ...item.message.header }, body: item.message.body },
        redelivered: item.deliveries - 1,
        ack: () => settle(undefined),
        nack: (requeue = true) => settle(requeue),
      };
      try {
        await runHandler(sub, () => sub.handler(event));
        if (sub.options.autoAck !== false) await event.ack();
      } catch (err) {
        sub.options.onError?.(err);
        if (sub.options.autoAck !== false) await event.nack(true);
      }
    }
  };

  return {
    name: "memory",
    get address() {
      return connected ? "memory" : "";
    },
    async connect() {
      connected = true;
    },
    async disconnect() {
      const all = [...subs.values()].flat();
      subs.clear();
      for (const s of all) {
        s.active = false;
        s.queue.end();
      }
      // A handler that disconnects its own broker does not wait for itself.
      await Promise.all(all.filter((s) => !insideHandler(s)).map((s) => s.done));
      connected = false;
    },
    async publish(topic: string, message: BrokerMessage, opts: PublishOptions = {}) {
      if (opts.signal?.aborted) throw MicroError.canceled(ID, `publish ${topic}: canceled`);
      connected = true;
      const copy: BrokerMessage = { header: { ...message.header }, body: message.body.slice() };
      const list = (subs.get(topic) ?? []).filter((s) => s.active);
      const groups = new Set<string>();
      const pending: Promise<void>[] = [];
      for (const s of list) {
        if (!s.options.queue) pending.push(enqueue(s, copy, 1));
        else groups.add(s.options.queue);
      }
      for (const g of groups) {
        const member = pickGroupMember(topic, g);
        if (member) pending.push(enqueue(member, copy, 1));
      }
      await Promise.all(pending);
    },
    async subscribe(topic: string, handler: BrokerHandler, opts: SubscribeOptions = {}): Promise<Subscriber> {
      if (!topic) throw MicroError.badRequest(ID, "subscribe: topic is required");
      connected = true;
      const sub: Sub = {
        topic,
        options: { ...opts },
        handler,
        queue: new AsyncQueue(hwm),
        done: Promise.resolve(),
        active: true,
      };
      sub.done = runSub(sub);
      const list = getOrInsert(subs, topic, () => []);
      list.push(sub);
      const unsubscribe = async () => {
        if (!sub.active) return;
        sub.active = false;
        const l = subs.get(topic);
        if (l) {
          const i = l.indexOf(sub);
          if (i >= 0) l.splice(i, 1);
          if (l.length === 0) subs.delete(topic);
        }
        sub.queue.end();
        // The handler in progress finishes first, unless it is the caller.
        await unlessInsideHandler(sub, sub.done);
      };
      return { topic, options: sub.options, unsubscribe, [Symbol.asyncDispose]: unsubscribe };
    },
  };
}
