/**
 * Building blocks for micro-ts plug-in packages (transports, brokers, registries). Outside
 * semver: these may change in any release.
 */

export { ConnectionPool } from "../client/pool.js";
export { isHopHeader, parseTimeoutHeader, timeoutHeader } from "../rpc/headers.js";
export { remoteError } from "../rpc/remote-error.js";
export { AsyncQueue } from "./async-queue.js";
export { DeadlineTimer } from "./deadline-timer.js";
export type { Deferred } from "./deferred.js";
export { deferred } from "./deferred.js";
export { goJson } from "./go-json.js";
export { IdTable } from "./id-table.js";
export { getOrInsert } from "./maps.js";
export { asBuffer, plainObjectLength, readPlainObject, writePlainObject } from "./plain-json.js";
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
