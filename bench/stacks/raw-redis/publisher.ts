import { Redis } from "ioredis";
import { runClient } from "../../lib/client-harness.js";
import { SERVICES } from "../../lib/services.js";

// ioredis used bare: PUBLISH for one subscriber; XADD to the run's stream for a queue group,
// whose members read it through a consumer group (see subscriber.ts).
runClient<Buffer>(async ({ args }) => {
  const topic = String(args.topic);
  const group = Number(args.subscribers ?? 1) > 1;
  // Auto-pipelining: publishes issued in one event-loop turn leave in one write.
  const r = new Redis(SERVICES.redis.url, { lazyConnect: true, enableAutoPipelining: true });
  await r.connect();
  return {
    makeMessage: (bytes) => Buffer.from(JSON.stringify({ data: "x".repeat(bytes) })),
    publish: group
      ? (msg) => r.xadd(`${topic}.stream`, "MAXLEN", "~", "100000", "*", "m", msg)
      : (msg) => r.publish(topic, msg),
    async close() {
      await r.quit();
    },
  };
});
