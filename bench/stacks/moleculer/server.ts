import type { ServiceBroker } from "moleculer";
import { runServer } from "../../lib/server-harness.js";
import { type MoleculerTransport, makeBroker, tcpPort } from "./common.js";

// Moleculer: an echo action (`bench.echo`), or event subscribers (`bench-sub`, one node or a
// group of `subscribers` nodes sharing the service name, so `emit` reaches one of them).
runServer(async ({ args, received }) => {
  const transport = args.transport as MoleculerTransport;
  const namespace = String(args.namespace);
  const brokers: ServiceBroker[] = [];
  if (args.mode === "events") {
    const topic = String(args.topic);
    const n = Number(args.subscribers ?? 1);
    for (let i = 0; i < n; i++) {
      const b = makeBroker({ transport, namespace, nodeID: `bench-sub-${i}-${process.pid}` });
      b.createService({ name: "bench-sub", events: { [topic]: () => received() } });
      await b.start();
      brokers.push(b);
    }
  } else {
    const b = makeBroker({ transport, namespace, nodeID: `bench-server-${process.pid}` });
    b.createService({
      name: "bench",
      actions: {
        echo: (ctx) => ({ data: (ctx.params as { data: string }).data }),
      },
    });
    await b.start();
    brokers.push(b);
  }
  const first = brokers[0] as ServiceBroker;
  return {
    address: transport === "tcp" ? `127.0.0.1:${tcpPort(first)}/${first.nodeID}` : "nats://127.0.0.1:4222",
    info: { nodes: brokers.length },
    async close() {
      for (const b of brokers) await b.stop();
    },
  };
});
