import { connect, type NatsConnection } from "nats";
import { runServer } from "../../lib/server-harness.js";

// Raw nats.js (v2) subscribers: one, or a queue group, each on its own connection.
runServer(async ({ args, received }) => {
  const topic = String(args.topic);
  const n = Number(args.subscribers ?? 1);
  const conns: NatsConnection[] = [];
  for (let i = 0; i < n; i++) {
    const nc = await connect({ servers: "127.0.0.1:4222", timeout: 5_000 });
    nc.subscribe(topic, { queue: n > 1 ? "bench" : undefined, callback: () => received() });
    await nc.flush();
    conns.push(nc);
  }
  return {
    address: "127.0.0.1:4222",
    async close() {
      for (const nc of conns) await nc.close();
    },
  };
});
