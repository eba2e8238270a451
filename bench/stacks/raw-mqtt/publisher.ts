import { connectAsync } from "mqtt";
import { runClient } from "../../lib/client-harness.js";
import { SERVICES } from "../../lib/services.js";

// mqtt.js used bare, as the micro-ts broker uses it by default: MQTT 5, a clean session, QoS 1
// publishes (each done when Mosquitto's PUBACK arrives).
runClient<Buffer>(async ({ args }) => {
  const topic = String(args.topic);
  const c = await connectAsync(SERVICES.mqtt.url, { protocolVersion: 5, clean: true, reconnectPeriod: 0 });
  return {
    makeMessage: (bytes) => Buffer.from(JSON.stringify({ data: "x".repeat(bytes) })),
    publish: (msg) => c.publishAsync(topic, msg, { qos: 1 }),
    async close() {
      await c.endAsync();
    },
  };
});
