export type { HttpBrokerOptions } from "./http-broker.js";
export { BROADCAST_VERSION, createHttpBroker, HTTP_BROKER_SERVICE } from "./http-broker.js";
export type { HttpTransportOptions } from "./http-transport.js";
export { createHttpTransport } from "./http-transport.js";
