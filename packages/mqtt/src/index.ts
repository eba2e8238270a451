export type { MqttBrokerOptions } from "./mqtt-broker.js";
export { createMqttBroker } from "./mqtt-broker.js";
