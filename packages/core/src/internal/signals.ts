import type { IoOptions } from "../context/call-options.js";
import { MicroError } from "../errors/micro-error.js";

/**
 * Combines an optional caller signal and an optional timeout into one signal that aborts when
 * either does: with reason MicroError 408 when the time ran out. Map any reason with
 * {@link abortReason} (a caller's own reason is passed through, and becomes 499 there). Without a
 * timeout the caller's signal itself is returned: no controller, no listener. `cleanup` stops the
 * timer.
 */
export function deadlineSignal(
  id: string,
  what: string,
  signal: AbortSignal | undefined,
  timeoutMs: number | undefined,
): { signal: AbortSignal; cleanup(): void } {
  const timed = timeoutMs !== undefined && timeoutMs !== Number.POSITIVE_INFINITY;
  if (!timed && signal) return { signal, cleanup: noop };
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const onAbort = () => controller.abort(abortReason(id, what, signal));
  if (signal) {
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  }
  if (timed && !controller.signal.aborted) {
    timer = setTimeout(
      () => controller.abort(MicroError.timeout(id, `${what}: deadline of ${timeoutMs}ms exceeded`)),
      Math.max(0, timeoutMs),
    );
  }
  return {
    signal: controller.signal,
    cleanup() {
      if (timer) clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    },
  };
}

function noop(): void {}

/** The MicroError an aborted signal stands for: its reason if that is one, else a 499. */
export function abortReason(id: string, what: string, signal: AbortSignal | undefined): MicroError {
  const reason: unknown = signal?.reason;
  if (reason instanceof MicroError) return reason;
  if (reason instanceof Error && reason.name === "TimeoutError") {
    return MicroError.timeout(id, `${what}: ${reason.message}`, { cause: reason });
  }
  return MicroError.canceled(id, `${what}: canceled`, { cause: reason });
}

/**
 * Races `promise` against `signal`: rejects with `reasonOf(signal)` as soon as it aborts (default:
 * the raw reason), else settles as `promise` does. A losing `promise` is never left unhandled.
 */
export function raceAbort<T>(
  promise: Promise<T>,
  signal: AbortSignal,
  reasonOf: (signal: AbortSignal) => unknown = (s) => s.reason,
): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(reasonOf(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(reasonOf(signal));
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}

/** {@link raceAbort} rejecting with the signal's MicroError (408 deadline, 499 cancellation). */
export function raceSignal<T>(
  promise: Promise<T>,
  signal: AbortSignal,
  id: string,
  what: string,
): Promise<T> {
  return raceAbort(promise, signal, (s) => abortReason(id, what, s));
}

/**
 * Runs `op` under the caller's signal and deadline (`io.timeoutMs`, else `defaultMs`): rejects with
 * 408 or 499 as soon as either ends, without waiting for `op`; when the caller's signal has already
 * aborted, `op` is not started. Other failures that are not MicroErrors go through `mapError`
 * (default: 503 "<what>: <message>", the backend is unreachable). An `op` that needs no signal is
 * cheaper with {@link raceDeadline}.
 */
export async function withDeadline<T>(
  id: string,
  what: string,
  io: IoOptions | undefined,
  defaultMs: number | undefined,
  op: (signal: AbortSignal) => Promise<T>,
  mapError: (err: unknown) => MicroError = (err) =>
    MicroError.serviceUnavailable(id, `${what}: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    }),
): Promise<T> {
  const d = deadlineSignal(id, what, io?.signal, io?.timeoutMs ?? defaultMs);
  try {
    // An operation whose caller already gave up is not started (a publish is not sent).
    if (d.signal.aborted) throw abortReason(id, what, d.signal);
    return await raceSignal(op(d.signal), d.signal, id, what);
  } catch (err) {
    throw err instanceof MicroError ? err : mapError(err);
  } finally {
    d.cleanup();
  }
}

/**
 * {@link withDeadline} for an operation that takes no signal, made for hot paths (a publish):
 * the deadline is one timer and the caller's signal gets one listener, with no AbortController
 * (creating one costs more than the rest of this function). Rejects with 408 when `io.timeoutMs`
 * (else `defaultMs`) passes, with the caller's reason (499 unless it is a MicroError) when its
 * signal aborts, in both cases without waiting for `op`; other failures of `op` that are not
 * MicroErrors go through `mapError` (default: 503, as {@link withDeadline}), which may also return
 * them unchanged for a caller that inspects them itself.
 */
export function raceDeadline<T>(
  id: string,
  what: string,
  io: IoOptions | undefined,
  defaultMs: number | undefined,
  op: () => Promise<T>,
  mapError: (err: unknown) => unknown = (err) =>
    MicroError.serviceUnavailable(id, `${what}: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    }),
): Promise<T> {
  const signal = io?.signal;
  if (signal?.aborted) return Promise.reject(abortReason(id, what, signal));
  const ms = io?.timeoutMs ?? defaultMs;
  return new Promise<T>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const settle = () => {
      if (timer) clearTimeout(timer);
      if (onAbort) signal?.removeEventListener("abort", onAbort);
    };
    if (ms !== undefined && ms !== Number.POSITIVE_INFINITY) {
      timer = setTimeout(
        () => {
          settle();
          reject(MicroError.timeout(id, `${what}: deadline of ${ms}ms exceeded`));
        },
        Math.max(0, ms),
      );
    }
    if (signal) {
      onAbort = () => {
        settle();
        reject(abortReason(id, what, signal));
      };
      signal.addEventListener("abort", onAbort, { once: true });
    }
    const fail = (err: unknown) => {
      settle();
      reject(err instanceof MicroError ? err : mapError(err));
    };
    let p: Promise<T>;
    try {
      p = op();
    } catch (err) {
      fail(err);
      return;
    }
    p.then((v) => {
      settle();
      resolve(v);
    }, fail);
  });
}

/**
 * A `mapError` for {@link raceDeadline} that leaves a failure as it is, for a caller that tells
 * failures apart itself (a nack from a lost connection) before mapping them.
 */
export function keepError(err: unknown): unknown {
  return err;
}

/** Resolves after `ms`, or rejects early with the signal's reason. */
export function sleep(ms: number, signal?: AbortSignal, id = "go.micro.client"): Promise<void> {
  if (ms <= 0 && !signal?.aborted) return Promise.resolve();
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(id, "sleep", signal));
    const onAbort = () => {
      clearTimeout(t);
      reject(abortReason(id, "sleep", signal));
    };
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
