/**
 * Options every I/O method accepts. A deadline becomes `MicroError` 408; an abort becomes a
 * cancellation (`MicroError` 499). Neither ever leaves a promise hanging.
 */
export interface IoOptions {
  /** Aborts the operation; the promise rejects promptly with a cancellation error. */
  signal?: AbortSignal | undefined;
  /** Time budget in milliseconds for the whole operation. Undefined: the method's own default. */
  timeoutMs?: number | undefined;
}
