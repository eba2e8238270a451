import { type BrokerMessage, createMemoryRegistry, type ServiceRecord } from "@microts/core";
import { runClient } from "../../lib/client-harness.js";
import { type BrokerKind, brokerMessage, makeBroker } from "./brokers.js";

// Publishes through a micro-ts broker. For the HTTP broker, the subscribers' registry records
// (sent by the subscriber process) are copied into this process's memory registry.
runClient<BrokerMessage>(async ({ args, info }) => {
  const kind = args.broker as BrokerKind;
  const topic = String(args.topic);
  const registry = createMemoryRegistry();
  for (const svc of (info.records as ServiceRecord[] | undefined) ?? []) await registry.register(svc);
  const broker = makeBroker(kind, registry, topic);
  await broker.connect({ timeoutMs: 5_000 });
  return {
    makeMessage: brokerMessage,
    publish: (msg) => broker.publish(topic, msg),
    async close() {
      await broker.disconnect({ timeoutMs: 2_000 });
    },
  };
});
