import { connect } from "amqplib";
import { runClient } from "../../lib/client-harness.js";
import { SERVICES } from "../../lib/services.js";

/** The exchange the micro-ts broker publishes to by default (topic, not durable). */
const EXCHANGE = "micro";

// amqplib used bare, as the micro-ts broker uses it by default: a confirm channel, persistent
// messages to the topic exchange, each publish done when RabbitMQ confirms it.
runClient<Buffer>(async ({ args }) => {
  const topic = String(args.topic);
  const conn = await connect(SERVICES.rabbitmq.url);
  const ch = await conn.createConfirmChannel();
  await ch.assertExchange(EXCHANGE, "topic", { durable: false });
  const headers = { "Content-Type": "application/json" };
  return {
    makeMessage: (bytes) => Buffer.from(JSON.stringify({ data: "x".repeat(bytes) })),
    publish: (msg) =>
      new Promise<void>((resolve, reject) => {
        ch.publish(EXCHANGE, topic, msg, { headers, deliveryMode: 2 }, (err) =>
          err ? reject(err) : resolve(),
        );
      }),
    async close() {
      await conn.close();
    },
  };
});
