import { type Channel, type ChannelModel, connect } from "amqplib";
import { runServer } from "../../lib/server-harness.js";
import { removeLeftovers, SERVICES } from "../../lib/services.js";

/** The exchange the micro-ts broker publishes to by default (topic, not durable), as publisher.ts. */
const EXCHANGE = "micro";

// amqplib used bare, as the micro-ts broker subscribes by default: one subscriber gets an
// exclusive auto-delete queue; a queue group shares one durable queue, one consumer per member,
// each on its own connection. Every delivery is acked on its own, with no prefetch limit.
runServer(async ({ args, received }) => {
  const topic = String(args.topic);
  const n = Number(args.subscribers ?? 1);
  const group = `${topic}.raw-group`;
  const conns: ChannelModel[] = [];
  for (let i = 0; i < n; i++) {
    const conn = await connect(SERVICES.rabbitmq.url);
    conns.push(conn);
    const ch: Channel = await conn.createChannel();
    await ch.assertExchange(EXCHANGE, "topic", { durable: false });
    const q =
      n > 1
        ? await ch.assertQueue(group, { durable: true, autoDelete: false })
        : await ch.assertQueue("", { exclusive: true, autoDelete: true });
    await ch.bindQueue(q.queue, EXCHANGE, topic);
    await ch.consume(q.queue, (m) => {
      if (!m) return;
      received();
      ch.ack(m);
    });
  }
  return {
    address: SERVICES.rabbitmq.url,
    async close() {
      for (const c of conns) await c.close();
      if (n > 1) await removeLeftovers({ rabbitQueues: [group] });
    },
  };
});
