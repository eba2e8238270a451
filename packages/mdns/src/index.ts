export { createMdnsRegistry } from "./mdns-registry.js";
export type { MdnsRegistryOptions } from "./options.js";
export type { NodeTxt } from "./txt.js";
export { decodeTxt, encodeTxt } from "./txt.js";
