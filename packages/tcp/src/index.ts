export type { TcpTransportOptions } from "./tcp-transport.js";
export { createTcpTransport } from "./tcp-transport.js";
