import { connectAsync, type MqttClient } from "mqtt";
import { runServer } from "../../lib/server-harness.js";
import { SERVICES } from "../../lib/services.js";

// mqtt.js used bare: QoS 1 subscriptions on clean MQTT 5 sessions, one client per subscriber; a
// queue group is a shared subscription (`$share/<group>/<topic>`), as the micro-ts broker makes it.
runServer(async ({ args, received }) => {
  const topic = String(args.topic);
  const n = Number(args.subscribers ?? 1);
  const clients: MqttClient[] = [];
  for (let i = 0; i < n; i++) {
    const c = await connectAsync(SERVICES.mqtt.url, { protocolVersion: 5, clean: true, reconnectPeriod: 0 });
    clients.push(c);
    c.on("message", () => received());
    await c.subscribeAsync(n > 1 ? `$share/${topic}.raw-group/${topic}` : topic, { qos: 1 });
  }
  return {
    address: SERVICES.mqtt.url,
    async close() {
      for (const c of clients) await c.endAsync();
    },
  };
});
