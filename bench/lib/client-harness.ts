import { hrtime } from "node:process";
import { setImmediate as nextTick } from "node:timers/promises";
import { childArgs, serveParent, startMeter } from "./child.js";
import { Histogram } from "./histogram.js";
import { errorText, type Job, type RoundResult } from "./protocol.js";

/**
 * What a stack's client script implements. Each capability is optional; the orchestrator only
 * asks for what the stack declares. `Req` is the stack's prepared request (a JSON body, a Buffer...).
 */
export interface ClientDriver<Req = unknown> {
  /** Builds the request of a unary call carrying `bytes` payload bytes (done once per round). */
  makeRequest?(bytes: number): Req;
  /** One unary call. */
  unary?(req: Req): Promise<unknown>;
  /** Runs a whole unary round itself (an external load generator); replaces `unary`'s loop. */
  unaryRound?(job: Extract<Job, { kind: "unary" }>): Promise<RoundResult>;
  /** Throws when `rsp` is not the expected answer to `req` (checked once per round). */
  check?(req: Req, rsp: unknown): void;
  /** One server stream of `count` messages of `bytes` bytes; resolves with the number received. */
  stream?(count: number, bytes: number): Promise<number>;
  /** Builds the message `publish` sends. */
  makeMessage?(bytes: number): Req;
  /** Publishes one message; a promise means the API is asynchronous (up to 64 are kept in flight). */
  publish?(msg: Req): undefined | Promise<unknown>;
  /** Opens one more connection to the server, kept until `disconnect` or `close` (memory per connection). */
  connect?(): Promise<void>;
  /** Closes every connection `connect` opened. */
  disconnect?(): Promise<void>;
  /** Scenario-specific measurement (e.g. registry lookups); returns named numbers. */
  custom?(name: string, job: Extract<Job, { kind: "custom" }>): Promise<RoundResult>;
  close(): Promise<void>;
}

/** Context of a client process: its options, and the server's address and facts once known. */
export interface ClientContext {
  args: Record<string, unknown>;
  address: string;
  info: Record<string, unknown>;
}

/** Every loop ends at the deadline or the count, whichever comes first; a worker gives up after this many errors. */
const MAX_ERRORS_PER_WORKER = 50;

/**
 * Runs a stack's client in this (forked) process. The orchestrator sends `init` with the server's
 * address, then `run` jobs; each is measured here: wall time with `process.hrtime.bigint`, CPU
 * with `process.cpuUsage`, per-request latency into a {@link Histogram}.
 */
export function runClient<Req>(create: (ctx: ClientContext) => Promise<ClientDriver<Req>>): void {
  let driver: ClientDriver<Req> | undefined;
  let published = 0;
  let received = 0;
  let wake: (() => void) | undefined;
  serveParent({
    async init(address, info) {
      driver = await create({ args: childArgs(), address, info });
    },
    async run(job) {
      if (!driver) throw new Error("client not initialised");
      switch (job.kind) {
        case "unary":
          return unaryRound(driver, job);
        case "stream":
          return streamRound(driver, job);
        case "publish":
          return publishRound(driver, job);
        case "smoke":
          return smoke(driver, job.payloadBytes);
        case "connections":
          return openConnections(driver, job.count);
        case "disconnect":
          await driver.disconnect?.();
          return { count: 0, errors: 0, elapsedNs: 0, cpuUs: 0, p50Ns: 0, p99Ns: 0 };
        case "custom":
          if (!driver.custom) throw new Error("this stack has no custom scenarios");
          return driver.custom(job.name, job);
      }
    },
    progress(n) {
      received = n;
      wake?.();
    },
    async stop() {
      await driver?.close();
    },
  });

  async function publishRound(
    d: ClientDriver<Req>,
    job: Extract<Job, { kind: "publish" }>,
  ): Promise<RoundResult> {
    if (!d.publish || !d.makeMessage) throw new Error("this stack cannot publish");
    const msg = d.makeMessage(job.payloadBytes);
    let count = 0;
    let errors = 0;
    let firstError: string | undefined;
    // An asynchronous publish is followed with one `then`, as a caller that does not await each
    // publish would do to hear of failures; at most 64 are in flight.
    let inFlight = 0;
    let drained: (() => void) | undefined;
    const settled = (): void => {
      if (--inFlight === 0) drained?.();
    };
    const failed = (err: unknown): void => {
      errors++;
      firstError ??= errorText(err);
      settled();
    };
    const settle = (): Promise<void> | undefined =>
      inFlight === 0 ? undefined : new Promise<void>((resolve) => (drained = resolve));
    const meter = await startMeter();
    const t0 = hrtime.bigint();
    const deadline = t0 + BigInt(job.durationMs) * 1_000_000n;
    while (count < job.maxCount && errors < MAX_ERRORS_PER_WORKER) {
      if ((count & 127) === 0 && hrtime.bigint() >= deadline) break;
      if (published - received >= job.window) {
        // Flow control: wait (bounded) for the subscriber to catch up; a lossy broker never does,
        // so after 100 ms the window is moved on.
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, 100);
          wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
        wake = undefined;
        if (published - received >= job.window) received = published - Math.floor(job.window / 2);
        if (hrtime.bigint() >= deadline) break;
        continue;
      }
      try {
        const r = d.publish(msg);
        if (r) {
          inFlight++;
          r.then(settled, failed);
        }
      } catch (err) {
        errors++;
        firstError ??= errorText(err);
      }
      published++;
      count++;
      if (inFlight >= 64) await settle();
      // Let IPC progress messages and socket writes through.
      if ((count & 255) === 0) await nextTick();
    }
    await settle();
    const elapsedNs = Number(hrtime.bigint() - t0);
    return { count, errors, elapsedNs, ...(await meter.stop()), p50Ns: 0, p99Ns: 0, firstError };
  }
}

async function unaryRound<Req>(
  d: ClientDriver<Req>,
  job: Extract<Job, { kind: "unary" }>,
): Promise<RoundResult> {
  if (d.unaryRound) return d.unaryRound(job);
  if (!d.unary || !d.makeRequest) throw new Error("this stack has no unary call");
  const unary = d.unary.bind(d);
  const req = d.makeRequest(job.payloadBytes);
  d.check?.(req, await unary(req));
  const hist = new Histogram();
  let issued = 0;
  let errors = 0;
  let firstError: string | undefined;
  const meter = await startMeter();
  const t0 = hrtime.bigint();
  const deadline = t0 + BigInt(job.durationMs) * 1_000_000n;
  const worker = async (): Promise<void> => {
    let myErrors = 0;
    while (issued < job.maxCount && myErrors < MAX_ERRORS_PER_WORKER) {
      const start = hrtime.bigint();
      if (start >= deadline) return;
      issued++;
      try {
        await unary(req);
        hist.record(Number(hrtime.bigint() - start));
      } catch (err) {
        errors++;
        myErrors++;
        firstError ??= errorText(err);
      }
    }
  };
  await Promise.all(Array.from({ length: job.concurrency }, worker));
  const elapsedNs = Number(hrtime.bigint() - t0);
  return {
    count: hist.count,
    errors,
    elapsedNs,
    ...(await meter.stop()),
    p50Ns: hist.quantile(0.5),
    p99Ns: hist.quantile(0.99),
    firstError,
  };
}

async function streamRound<Req>(
  d: ClientDriver<Req>,
  job: Extract<Job, { kind: "stream" }>,
): Promise<RoundResult> {
  if (!d.stream) throw new Error("this stack has no server stream");
  const first = await d.stream(3, job.payloadBytes);
  if (first !== 3) throw new Error(`stream check: expected 3 messages, got ${first}`);
  const hist = new Histogram();
  let count = 0;
  let errors = 0;
  let firstError: string | undefined;
  const meter = await startMeter();
  const t0 = hrtime.bigint();
  const deadline = t0 + BigInt(job.durationMs) * 1_000_000n;
  while (count < job.maxCount && errors < MAX_ERRORS_PER_WORKER) {
    const start = hrtime.bigint();
    if (start >= deadline) break;
    try {
      count += await d.stream(job.perStream, job.payloadBytes);
      // Per-message time within a stream: the stream's duration divided by its length.
      hist.record(Number(hrtime.bigint() - start) / job.perStream);
    } catch (err) {
      errors++;
      firstError ??= errorText(err);
    }
  }
  const elapsedNs = Number(hrtime.bigint() - t0);
  return { count, errors, elapsedNs, ...(await meter.stop()), p50Ns: 0, p99Ns: 0, firstError };
}

async function smoke<Req>(d: ClientDriver<Req>, bytes: number): Promise<RoundResult> {
  const t0 = hrtime.bigint();
  let count = 0;
  if (d.unaryRound) {
    const r = await d.unaryRound({
      kind: "unary",
      concurrency: 1,
      payloadBytes: bytes,
      durationMs: 200,
      maxCount: 10,
    });
    if (r.count < 1) throw new Error(`no request answered${r.firstError ? `: ${r.firstError}` : ""}`);
    count++;
  }
  if (d.unary && d.makeRequest) {
    const req = d.makeRequest(bytes);
    d.check?.(req, await d.unary(req));
    count++;
  }
  if (d.stream) {
    const n = await d.stream(3, bytes);
    if (n !== 3) throw new Error(`stream: expected 3 messages, got ${n}`);
    count++;
  }
  if (d.publish && d.makeMessage) {
    await d.publish(d.makeMessage(bytes));
    count++;
  }
  return { count, errors: 0, elapsedNs: Number(hrtime.bigint() - t0), cpuUs: 0, p50Ns: 0, p99Ns: 0 };
}

async function openConnections<Req>(d: ClientDriver<Req>, n: number): Promise<RoundResult> {
  if (!d.connect) throw new Error("this stack cannot open extra connections");
  const t0 = hrtime.bigint();
  for (let i = 0; i < n; i++) await d.connect();
  return { count: n, errors: 0, elapsedNs: Number(hrtime.bigint() - t0), cpuUs: 0, p50Ns: 0, p99Ns: 0 };
}
