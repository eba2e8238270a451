// A bounded load generator for the fault tests, and a client that counts attempts.
import type { AttemptMiddleware, CallOptions, Client, Registry, Selector } from "@microts/core";
import { createClient, exponentialBackoff, isMicroError } from "@microts/core";
import { createHttpTransport } from "@microts/http";

/** Attempts seen by a {@link countingClient}, per request id (the `id` field of the body). */
export class AttemptLog {
  readonly attempts = new Map<string, number>();
  /** Failed attempts by error code and detail (for diagnosis). */
  readonly failures = new Map<string, number>();

  readonly middleware: AttemptMiddleware = (next) => async (node, request, options) => {
    const body = request.body as { id?: unknown } | undefined;
    const id = typeof body?.id === "string" ? body.id : "";
    this.attempts.set(id, (this.attempts.get(id) ?? 0) + 1);
    try {
      return await next(node, request, options);
    } catch (err) {
      const key = describe(err);
      this.failures.set(key, (this.failures.get(key) ?? 0) + 1);
      throw err;
    }
  };

  /** Attempts made for `id` (0 when none). */
  count(id: string): number {
    return this.attempts.get(id) ?? 0;
  }
}

/** Options for {@link countingClient}. */
export interface CountingClientOptions {
  registry?: Registry;
  selector?: Selector;
  /** Retries after the first attempt. Default 3. */
  retries?: number;
  /** Budget of each call, retries included, in milliseconds. Default 5 000. */
  timeoutMs?: number;
}

/**
 * What a user would configure for a resilient caller: HTTP transport, 3 retries with a short
 * exponential backoff (20 ms base, 200 ms cap), a 5 s call budget, and attempt counting.
 */
export function countingClient(options: CountingClientOptions): { client: Client; log: AttemptLog } {
  const log = new AttemptLog();
  const client = createClient({
    transport: createHttpTransport(),
    registry: options.registry,
    selector: options.selector,
    retries: options.retries ?? 3,
    timeoutMs: options.timeoutMs ?? 5_000,
    backoff: exponentialBackoff({ baseMs: 20, maxMs: 200 }),
    attemptMiddleware: [log.middleware],
  });
  return { client, log };
}

/** Options for {@link startLoad}. */
export interface LoadOptions {
  client: Client;
  log: AttemptLog;
  service: string;
  endpoint: string;
  /** Calls in flight at once. Default 8. */
  concurrency?: number;
  /** Upper bound of calls made. Default 20 000. */
  maxCalls?: number;
  /** Upper bound of the run, in milliseconds. Default 60 000. */
  maxMs?: number;
  /** Pause of each worker between its calls, in milliseconds. Default 2. */
  pauseMs?: number;
  /** Work time the handler is asked for, in milliseconds. Default 5. */
  workMs?: number;
  /** Options of every call. */
  callOptions?: CallOptions;
  /** Prefix of the request ids. Default the endpoint name. */
  idPrefix?: string;
}

/** What a load run observed. */
export interface LoadResult {
  made: number;
  ok: number;
  failed: number;
  /** Attempts beyond the first, summed over all calls. */
  retried: number;
  /** Failed calls by "code detail". */
  failures: Record<string, number>;
  /** Ids of calls that succeeded, and of calls that failed. */
  okIds: Set<string>;
  failedIds: Set<string>;
  maxLatencyMs: number;
  elapsedMs: number;
}

/** A running load. */
export interface Load {
  /** Calls made so far. */
  readonly made: number;
  /** Resolves once at least `n` calls completed (or the load ended). */
  completed(n: number): Promise<void>;
  /** Stops starting calls, waits for those in flight, and reports. */
  stop(): Promise<LoadResult>;
}

/** Starts `concurrency` callers, each calling `endpoint` with a unique id until stopped or bounded. */
export function startLoad(options: LoadOptions): Load {
  const concurrency = options.concurrency ?? 8;
  const maxCalls = options.maxCalls ?? 20_000;
  const maxMs = options.maxMs ?? 60_000;
  const pauseMs = options.pauseMs ?? 2;
  const prefix = options.idPrefix ?? options.endpoint;
  const t0 = Date.now();
  let stopped = false;
  let made = 0;
  let done = 0;
  let maxLatencyMs = 0;
  const okIds = new Set<string>();
  const failedIds = new Set<string>();
  const failures: Record<string, number> = {};
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  const wake = (all = false) => {
    for (let i = waiters.length - 1; i >= 0; i--) {
      const w = waiters[i] as { n: number; resolve: () => void };
      if (all || done >= w.n) {
        waiters.splice(i, 1);
        w.resolve();
      }
    }
  };

  const worker = async (w: number) => {
    while (!stopped && made < maxCalls && Date.now() - t0 < maxMs) {
      const id = `${prefix}-${w}-${made++}`;
      const start = Date.now();
      try {
        await options.client.call(
          options.service,
          options.endpoint,
          { id, ms: options.workMs ?? 5 },
          options.callOptions,
        );
        okIds.add(id);
      } catch (err) {
        failedIds.add(id);
        const key = describe(err);
        failures[key] = (failures[key] ?? 0) + 1;
      }
      maxLatencyMs = Math.max(maxLatencyMs, Date.now() - start);
      done++;
      wake();
      if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
    }
  };
  const workers = Array.from({ length: concurrency }, (_, w) => worker(w));
  const finished = Promise.all(workers).then(() => wake(true));

  return {
    get made() {
      return made;
    },
    completed(n) {
      if (done >= n || stopped) return Promise.resolve();
      return Promise.race([new Promise<void>((resolve) => waiters.push({ n, resolve })), finished]);
    },
    async stop() {
      stopped = true;
      await finished;
      let retried = 0;
      for (const id of [...okIds, ...failedIds]) retried += Math.max(0, options.log.count(id) - 1);
      return {
        made: okIds.size + failedIds.size,
        ok: okIds.size,
        failed: failedIds.size,
        retried,
        failures,
        okIds,
        failedIds,
        maxLatencyMs,
        elapsedMs: Date.now() - t0,
      };
    },
  };
}

/** "code detail" of an error, with digits of addresses and ids folded so that counts group. */
export function describe(err: unknown): string {
  if (isMicroError(err)) return `${err.code} ${err.detail.replace(/\d+/g, "N")}`;
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/** One line of counts, printed by every test before it asserts. */
export function report(what: string, r: LoadResult, extra: Record<string, unknown> = {}): void {
  const counts = {
    made: r.made,
    ok: r.ok,
    failed: r.failed,
    retried: r.retried,
    maxLatencyMs: r.maxLatencyMs,
    elapsedMs: r.elapsedMs,
    ...extra,
  };
  console.log(`# counts ${what}: ${JSON.stringify(counts)}`);
  if (r.failed > 0) console.log(`#   failures ${what}: ${JSON.stringify(r.failures)}`);
}

/** Polls `check` every 50 ms until it returns true or `timeoutMs` passes; returns the last result. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}
