/**
 * Building blocks for micro-ts plug-in packages (transports, brokers, registries). Outside
 * semver: these may change in any release.
 */

export { insideHandler, runHandler, unlessInsideHandler } from "../broker/handler-scope.js";
export { ConnectionPool } from "../client/pool.js";
export { isHopHeader, parseTimeoutHeader, timeoutHeader } from "../rpc/headers.js";
export { remoteError } from "../rpc/remote-error.js";
export { AsyncQueue } from "./async-queue.js";
export { BatchWriter } from "./batch-writer.js";
export { DeadlineTimer } from "./deadline-timer.js";
export type { Deferred } from "./deferred.js";
export { deferred } from "./deferred.js";
export { goJson } from "./go-json.js";
export { HeaderBuilder } from "./header-builder.js";
export { IdTable } from "./id-table.js";
export { Inbox } from "./inbox.js";
export { getOrInsert } from "./maps.js";
export type { HostPort } from "./net-address.js";
export { advertisedHost, formatHostPort, isWildcardHost, parseHostPort } from "./net-address.js";
export type { TcpDialOptions } from "./net-dial.js";
export { connectTcp, dialTcp } from "./net-dial.js";
export type { TcpListenOptions } from "./net-listener.js";
export { listenTcp } from "./net-listener.js";
export type { InboxItem } from "./net-socket.js";
export { bodyBytes, NetSocketBase } from "./net-socket.js";
export type { NetTransportConfig } from "./net-transport.js";
export { createNetTransport } from "./net-transport.js";
export { asBuffer, plainObjectLength, readPlainObject, writePlainObject } from "./plain-json.js";
export { SENT } from "./sent.js";
export {
  abortReason,
  deadlineSignal,
  keepError,
  raceAbort,
  raceDeadline,
  raceSignal,
  sleep,
  withDeadline,
} from "./signals.js";
