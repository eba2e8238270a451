export type { RedisBrokerOptions } from "./redis-broker.js";
export { createRedisBroker } from "./redis-broker.js";
