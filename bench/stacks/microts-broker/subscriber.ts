import { type Broker, createMemoryRegistry } from "@microts/core";
import { HTTP_BROKER_SERVICE } from "@microts/http";
import { runServer } from "../../lib/server-harness.js";
import { type Leftovers, removeLeftovers } from "../../lib/services.js";
import { type BrokerKind, jetStreamName, makeBroker, queueName } from "./brokers.js";

// Subscribers of a micro-ts broker (one, or a queue group of `subscribers`, each with its own
// broker instance, i.e. its own connection or HTTP server), counting deliveries.
runServer(async ({ args, received }) => {
  const kind = args.broker as BrokerKind;
  const topic = String(args.topic);
  const n = Number(args.subscribers ?? 1);
  const registry = createMemoryRegistry();
  const brokers: Broker[] = [];
  for (let i = 0; i < n; i++) {
    const b = makeBroker(kind, registry, topic);
    await b.connect({ timeoutMs: 5_000 });
    await b.subscribe(topic, () => received(), n > 1 ? { queue: queueName(topic) } : {});
    brokers.push(b);
  }
  const info: Record<string, unknown> = {};
  if (kind === "http") info.records = await registry.getService(HTTP_BROKER_SERVICE);
  return {
    address: brokers[0]?.address ?? "",
    info,
    async close() {
      for (const b of brokers) await b.disconnect({ timeoutMs: 2_000 });
      await removeLeftovers(leftovers(kind, topic, n > 1));
    },
  };
});

/** What a run of `kind` leaves on its server (the Redis broker writes every topic to a stream). */
function leftovers(kind: BrokerKind, topic: string, group: boolean): Leftovers {
  switch (kind) {
    case "redis":
      return { redisKeys: [`micro:stream:${topic}`] };
    case "rabbitmq":
      return group ? { rabbitQueues: [queueName(topic)] } : {};
    case "jetstream":
      return { jetStreams: [jetStreamName(topic)] };
    default:
      return {};
  }
}
