import { MicroError } from "../errors/micro-error.js";

/**
 * Combines an optional caller signal and an optional timeout into one signal whose reason is a
 * MicroError: 408 when the time ran out, 499 when the caller aborted. `cleanup` stops the timer.
 */
export function deadlineSignal(
  id: string,
  what: string,
  signal: AbortSignal | undefined,
  timeoutMs: number | undefined,
): { signal: AbortSignal; cleanup(): void } {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const onAbort = () => controller.abort(abortReason(id, what, signal));
  if (signal) {
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  }
  if (timeoutMs !== undefined && timeoutMs !== Number.POSITIVE_INFINITY && !controller.signal.aborted) {
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

/** The MicroError an aborted signal stands for: its reason if that is one, else a 499. */
export function abortReason(id: string, what: string, signal: AbortSignal | undefined): MicroError {
  const reason: unknown = signal?.reason;
  if (reason instanceof MicroError) return reason;
  if (reason instanceof Error && reason.name === "TimeoutError") {
    return MicroError.timeout(id, `${what}: ${reason.message}`, { cause: reason });
  }
  return MicroError.canceled(id, `${what}: canceled`, { cause: reason });
}

/** Rejects with the signal's MicroError reason as soon as it aborts; races `promise` otherwise. */
export function raceSignal<T>(
  promise: Promise<T>,
  signal: AbortSignal,
  id: string,
  what: string,
): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(abortReason(id, what, signal));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortReason(id, what, signal));
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
