/**
 * @microts/etcd — a registry on etcd v3, compatible with Go Micro's etcd registry (same keys,
 * JSON records and lease-based TTL), speaking etcd's JSON gateway over HTTP: no gRPC dependency.
 */
export { DEFAULT_ADDRESS, parseEndpoints } from "./address.js";
export type { EtcdRegistryOptions } from "./etcd-registry.js";
export { createEtcdRegistry } from "./etcd-registry.js";
export { DEFAULT_PREFIX, keyPart, nodeKey, serviceKeyPrefix } from "./keys.js";
