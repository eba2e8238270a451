import { type Broker, createMemoryRegistry } from "@microts/core";
import { HTTP_BROKER_SERVICE } from "@microts/http";
import { runServer } from "../../lib/server-harness.js";
import { type BrokerKind, makeBroker } from "./brokers.js";

// Subscribers of a micro-ts broker (one, or a queue group of `subscribers`, each with its own
// broker instance, i.e. its own connection or HTTP server), counting deliveries.
runServer(async ({ args, received }) => {
  const kind = args.broker as BrokerKind;
  const topic = String(args.topic);
  const n = Number(args.subscribers ?? 1);
  const registry = createMemoryRegistry();
  const brokers: Broker[] = [];
  for (let i = 0; i < n; i++) {
    const b = makeBroker(kind, registry);
    await b.connect({ timeoutMs: 5_000 });
    await b.subscribe(topic, () => received(), n > 1 ? { queue: "bench" } : {});
    brokers.push(b);
  }
  // NATS: make sure the server has the subscriptions before the publisher starts.
  const info: Record<string, unknown> = {};
  if (kind === "http") info.records = await registry.getService(HTTP_BROKER_SERVICE);
  return {
    address: brokers[0]?.address ?? "",
    info,
    async close() {
      for (const b of brokers) await b.disconnect({ timeoutMs: 2_000 });
    },
  };
});
