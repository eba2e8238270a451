import { type BrokerMessage, createMemoryBroker } from "@microts/core";
import { runClient } from "../../lib/client-harness.js";
import { brokerMessage } from "./brokers.js";

// The memory broker: publisher and subscribers in one process. Deliveries are counted here and
// reported as progress so the orchestrator measures them the same way as for the other brokers.
runClient<BrokerMessage>(async ({ args }) => {
  const topic = String(args.topic);
  const n = Number(args.subscribers ?? 1);
  const broker = createMemoryBroker();
  await broker.connect();
  let received = 0;
  let reported = 0;
  for (let i = 0; i < n; i++)
    await broker.subscribe(topic, () => void received++, n > 1 ? { queue: "bench" } : {});
  const timer = setInterval(() => {
    if (received !== reported) {
      reported = received;
      if (process.send && process.connected) process.send({ t: "progress", received });
    }
  }, 5);
  return {
    makeMessage: brokerMessage,
    publish: (msg) => broker.publish(topic, msg),
    async close() {
      clearInterval(timer);
      await broker.disconnect();
    },
  };
});
