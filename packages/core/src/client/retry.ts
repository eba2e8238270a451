import { MicroError } from "../errors/micro-error.js";
import type { Backoff, RetryPolicy } from "./client.js";

/**
 * The default policy: retry only when the request provably did not reach a handler (no
 * connection, the write failed, or the server answered that it is draining or overloaded
 * before running anything: 503), or, for idempotent calls, after a timeout (408) too.
 * Errors a handler returned are never retried.
 */
export const retryIfNotDelivered: RetryPolicy = ({ phase, error, idempotent }) => {
  if (phase === "connect" || phase === "send") return true;
  if (!(error instanceof MicroError)) return false;
  if (error.code === 503 && error.id === "go.micro.server") return true;
  return idempotent && (error.code === 408 || error.code === 503);
};

/** Go Micro's default: retry every error whose code is 408, whatever the phase. */
export const retryOnTimeout: RetryPolicy = ({ error, phase }) =>
  phase !== "response" || (error instanceof MicroError && error.code === 408);

/** Never retry. */
export const neverRetry: RetryPolicy = () => false;

/** Options for {@link exponentialBackoff}. */
export interface ExponentialBackoffOptions {
  /** Delay before the first retry, in milliseconds. Default 100. */
  baseMs?: number;
  /** Upper bound of any delay, in milliseconds. Default 5 000. */
  maxMs?: number;
  /** Full jitter: the delay is random in [0, computed]. Default true (avoids synchronized retries). */
  jitter?: boolean;
}

/** `base × 2^(attempt-1)`, capped, with full jitter by default. */
export function exponentialBackoff(options: ExponentialBackoffOptions = {}): Backoff {
  const base = options.baseMs ?? 100;
  const max = options.maxMs ?? 5_000;
  const jitter = options.jitter ?? true;
  return (attempt) => {
    const d = Math.min(max, base * 2 ** Math.max(0, attempt - 1));
    return jitter ? Math.random() * d : d;
  };
}

/** Options for {@link RetryBudget}. */
export interface RetryBudgetOptions {
  /** Retries allowed per call made, on average. Default 0.2 (at most one retry per five calls). */
  ratio?: number;
  /** Retries always allowed, even with little traffic. Default 10. */
  minRetries?: number;
}

/**
 * Caps retries so that during an outage they cannot multiply the load: every call deposits
 * `ratio` tokens (up to `minRetries + 100 × ratio`), every retry spends one, and a retry
 * without a token is not made (the caller gets the error it had).
 */
export class RetryBudget {
  private tokens: number;
  private readonly ratio: number;
  private readonly cap: number;

  constructor(options: RetryBudgetOptions = {}) {
    this.ratio = options.ratio ?? 0.2;
    const min = options.minRetries ?? 10;
    this.cap = min + 100 * this.ratio;
    this.tokens = min;
  }

  /** Records a call. */
  deposit(): void {
    this.tokens = Math.min(this.cap, this.tokens + this.ratio);
  }

  /** Takes a token for a retry; false when the budget is spent. */
  withdraw(): boolean {
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
