import { randomBytes } from "node:crypto";
import type { Broker, BrokerHandler, SubscribeOptions } from "@microts/core";
import { connect } from "amqplib";
import type { RabbitmqBrokerOptions } from "./options.js";
import { createRabbitmqBroker } from "./rabbitmq-broker.js";

/** The machine's shared RabbitMQ (tests never stop it). */
export const SHARED_URL = "amqp://guest:guest@127.0.0.1:5672";

/** A name unique to this test run. */
export function unique(prefix: string): string {
  return `${prefix}-${randomBytes(5).toString("hex")}`;
}

/**
 * Creates brokers on one test exchange and remembers every queue group they subscribe, so that
 * `cleanup()` deletes the exchange and the durable queues left on the shared server.
 */
export function testBrokers(options: RabbitmqBrokerOptions = {}) {
  const exchange = options.exchange?.name ?? unique("micro-test");
  const queues = new Set<string>();
  const url = options.address ?? SHARED_URL;
  return {
    exchange,
    queues,
    create(extra: RabbitmqBrokerOptions = {}): Broker {
      const b = createRabbitmqBroker({
        address: url,
        prefetch: 100,
        ...options,
        ...extra,
        exchange: { name: exchange, ...options.exchange, ...extra.exchange },
      });
      const subscribe = b.subscribe.bind(b);
      b.subscribe = (topic: string, handler: BrokerHandler, so?: SubscribeOptions) => {
        if (so?.queue) queues.add(so.queue);
        return subscribe(topic, handler, so);
      };
      return b;
    },
    async cleanup(): Promise<void> {
      const conn = await connect(url);
      try {
        for (const q of queues) {
          const ch = await conn.createChannel();
          ch.on("error", () => {});
          await ch.deleteQueue(q).catch(() => {});
          await ch.close().catch(() => {});
        }
        const ch = await conn.createChannel();
        ch.on("error", () => {});
        await ch.deleteExchange(exchange).catch(() => {});
        await ch.close().catch(() => {});
      } finally {
        await conn.close();
      }
    },
  };
}
