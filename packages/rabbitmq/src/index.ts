export type { ExchangeOptions, RabbitmqBrokerOptions, ReconnectOptions } from "./options.js";
export { DEFAULT_ADDRESS } from "./options.js";
export { createRabbitmqBroker } from "./rabbitmq-broker.js";
