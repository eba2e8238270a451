/**
 * Messages between the orchestrator (run.ts) and the per-stack server and client processes, over
 * Node's IPC channel. Every request carries an `id`; the child answers with a `reply` of that id.
 */

/** One measured round, or a one-shot action, that the orchestrator asks a client to run. */
export type Job =
  | { kind: "unary"; concurrency: number; payloadBytes: number; durationMs: number; maxCount: number }
  | { kind: "stream"; payloadBytes: number; perStream: number; durationMs: number; maxCount: number }
  | { kind: "publish"; payloadBytes: number; window: number; durationMs: number; maxCount: number }
  | { kind: "smoke"; payloadBytes: number }
  | { kind: "connections"; count: number }
  | { kind: "disconnect" }
  | { kind: "custom"; name: string; durationMs: number; maxCount: number };

/** What a client reports for one job. Times in nanoseconds, CPU in microseconds. */
export interface RoundResult {
  /** Completed requests (unary), messages received (stream), messages published (publish). */
  count: number;
  errors: number;
  elapsedNs: number;
  /** CPU time (user + system) the client process spent during the job. */
  cpuUs: number;
  /** Time the client's main thread was paused by garbage collection during the job (µs); absent for external clients. */
  gcUs?: number | undefined;
  p50Ns: number;
  p99Ns: number;
  firstError?: string | undefined;
  /** Extra numbers (custom jobs, e.g. ns per registry lookup). */
  extra?: Record<string, number> | undefined;
}

/** A process's resource usage. */
export interface Usage {
  cpuUs: number;
  /** Main-thread garbage-collection pauses so far (µs); absent for processes other than Node's. */
  gcUs?: number | undefined;
  rss: number;
  heapUsed: number;
}

export type ParentRequest =
  | { t: "init"; id: number; address: string; info: Record<string, unknown> }
  | { t: "run"; id: number; job: Job }
  | { t: "usage"; id: number; gc: boolean };

export type ParentNotice = { t: "progress"; received: number } | { t: "stop" };

export type ParentMessage = ParentRequest | ParentNotice;

export type ChildMessage =
  | { t: "ready"; address: string; info: Record<string, unknown> }
  | { t: "reply"; id: number; ok: true; value: unknown }
  | { t: "reply"; id: number; ok: false; error: string }
  | { t: "progress"; received: number }
  | { t: "fatal"; error: string };

/** Error text for a report line: the message, without a stack. */
export function errorText(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}
