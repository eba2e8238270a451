/**
 * Shared contract suites: every implementation of a micro-ts interface calls the suite for its
 * interface from its own test file, with an explicit skip list for what it cannot do.
 * Launchers for local servers live under `@microts/testing/servers/<backend>`. `acceptQueue`,
 * `rawConnection` and `recvUntilError` help transports' own tests feed a listener hostile bytes.
 */

export type { BrokerContractOptions } from "./broker-contract.js";
export { brokerContract } from "./broker-contract.js";
export type { CodecContractOptions } from "./codec-contract.js";
export { codecContract } from "./codec-contract.js";
export { collectGarbage, exposeGc } from "./gc.js";
export type { SkipRule } from "./internal/suite.js";
export type { RegistryContractOptions } from "./registry-contract.js";
export { registryContract } from "./registry-contract.js";
export type { RpcContractOptions } from "./rpc-contract.js";
export { rpcContract } from "./rpc-contract.js";
export type { SelectorContractOptions } from "./selector-contract.js";
export { selectorContract } from "./selector-contract.js";
export type { AcceptQueue, RawConnection, RecvOutcome } from "./sockets.js";
export { acceptQueue, rawConnection, recvUntilError, watchMessages } from "./sockets.js";
export type { TransportContractOptions } from "./transport-contract.js";
export { transportContract } from "./transport-contract.js";
