import { connect } from "nats";
import { runClient } from "../../lib/client-harness.js";

// Raw nats.js (v2) publish of pre-encoded bytes: the floor of any NATS-based broker.
runClient<Uint8Array>(async ({ args }) => {
  const topic = String(args.topic);
  const nc = await connect({ servers: "127.0.0.1:4222", timeout: 5_000 });
  return {
    makeMessage: (bytes) => new TextEncoder().encode(JSON.stringify({ data: "x".repeat(bytes) })),
    publish(msg) {
      nc.publish(topic, msg);
      return undefined;
    },
    async close() {
      await nc.close();
    },
  };
});
