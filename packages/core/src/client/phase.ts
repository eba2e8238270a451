import type { RetryInfo } from "./client.js";

const phases = new WeakMap<object, RetryInfo["phase"]>();

/** Records where in an attempt `err` happened (what retry policies see as `RetryInfo.phase`). */
export function tagPhase<E>(err: E, phase: RetryInfo["phase"]): E {
  if (err !== null && typeof err === "object") phases.set(err, phase);
  return err;
}

/** The phase `err` was tagged with; `response` (possibly delivered) when unknown. */
export function phaseOf(err: unknown): RetryInfo["phase"] {
  return (err !== null && typeof err === "object" && phases.get(err)) || "response";
}
