// A worker process for the fault tests: one node of the "faulty-greeter" service on the default
// network stack (HTTP transport; mDNS on loopback, or etcd when FAULT_ETCD is set). It prints
// "ready <address>" on stdout once registered and stops gracefully on SIGTERM (service.run()).
//
// Environment (all optional):
//   FAULT_SERVICE          service name (default faulty-greeter; tests use a unique one)
//   FAULT_ETCD             etcd address host:port: register there instead of mDNS
//   FAULT_WRITE_LOG        file Greeter.Write appends "<id>\n" to, for every request it executes
//   FAULT_EVENTS           file Greeter.Slow appends "aborted <id> <ms> <code>\n" to when its signal fires
//   FAULT_GRACE_MS         gracePeriodMs (default 0)
//   FAULT_DRAIN_MS         drainTimeoutMs (default 10 000)
//   FAULT_MAX_INFLIGHT     maxInFlight (default 0: no limit)
//   FAULT_EXEMPT           endpoints served beyond maxInFlight, comma-separated (health checks)
//   FAULT_MAX_HEADER_BYTES, FAULT_MAX_BODY_BYTES, FAULT_HEADER_TIMEOUT_MS: HTTP transport limits
import { appendFileSync } from "node:fs";
import { type Context, createMemoryBroker, createService, type Registry } from "@microts/core";
import { createEtcdRegistry } from "@microts/etcd";
import { createHttpTransport, type HttpTransportOptions } from "@microts/http";
import { createMdnsRegistry } from "@microts/mdns";

const env = process.env;
const num = (name: string): number | undefined => {
  const v = env[name];
  return v === undefined || v === "" ? undefined : Number(v);
};

/** A request of every Greeter endpoint: a caller-chosen unique id, and optional work time. */
export interface GreeterRequest {
  id: string;
  /** How long the handler works, in milliseconds. */
  ms?: number;
}
/** Which node answered which request. */
export interface GreeterResponse {
  id: string;
  node: string;
}
/** Process statistics of a worker. */
export interface StatsResponse {
  rss: number;
  heapUsed: number;
  pid: number;
}

const registry: Registry = env.FAULT_ETCD
  ? createEtcdRegistry({ address: env.FAULT_ETCD, timeoutMs: 1000 })
  : createMdnsRegistry({});
const transportOptions: HttpTransportOptions = {};
const maxHeaderBytes = num("FAULT_MAX_HEADER_BYTES");
const maxBodyBytes = num("FAULT_MAX_BODY_BYTES");
const headerTimeoutMs = num("FAULT_HEADER_TIMEOUT_MS");
if (maxHeaderBytes !== undefined) transportOptions.maxHeaderBytes = maxHeaderBytes;
if (maxBodyBytes !== undefined) transportOptions.maxBodyBytes = maxBodyBytes;
if (headerTimeoutMs !== undefined) transportOptions.headerTimeoutMs = headerTimeoutMs;

const service = createService({
  name: env.FAULT_SERVICE || "faulty-greeter",
  transport: createHttpTransport(transportOptions),
  registry,
  broker: createMemoryBroker(),
  gracePeriodMs: num("FAULT_GRACE_MS"),
  drainTimeoutMs: num("FAULT_DRAIN_MS"),
  maxInFlight: num("FAULT_MAX_INFLIGHT"),
  maxInFlightExempt: env.FAULT_EXEMPT ? env.FAULT_EXEMPT.split(",") : undefined,
  afterStart: [() => void process.stdout.write(`ready ${service.server.address}\n`)],
});

const work = (ms: number | undefined, signal: AbortSignal): Promise<boolean> =>
  new Promise((resolve) => {
    if (!ms) return resolve(false);
    const t = setTimeout(() => resolve(false), ms);
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(t);
        resolve(true);
      },
      { once: true },
    );
  });

/** The endpoints the fault tests call. */
class Greeter {
  /** Idempotent: reads nothing, changes nothing. */
  async read(req: GreeterRequest, ctx: Context): Promise<GreeterResponse> {
    await work(req.ms, ctx.signal);
    return { id: req.id, node: service.server.id };
  }

  /** Not idempotent: every execution is recorded, so a test can see a request that ran twice. */
  async write(req: GreeterRequest, ctx: Context): Promise<GreeterResponse> {
    if (env.FAULT_WRITE_LOG) appendFileSync(env.FAULT_WRITE_LOG, `${req.id}\n`);
    await work(req.ms, ctx.signal);
    return { id: req.id, node: service.server.id };
  }

  /** Works `ms` (default 10 s) unless its signal fires first; records when it does. */
  async slow(req: GreeterRequest, ctx: Context): Promise<GreeterResponse> {
    const t0 = Date.now();
    if (await work(req.ms ?? 10_000, ctx.signal)) {
      const reason: unknown = ctx.signal.reason;
      const code = reason !== null && typeof reason === "object" && "code" in reason ? reason.code : "?";
      if (env.FAULT_EVENTS)
        appendFileSync(env.FAULT_EVENTS, `aborted ${req.id} ${Date.now() - t0} ${code}\n`);
    }
    return { id: req.id, node: service.server.id };
  }

  /** This process's memory, after a full collection when the process runs with --expose-gc. */
  async stats(): Promise<StatsResponse> {
    const gc = (globalThis as { gc?: () => void }).gc;
    if (gc) {
      gc();
      gc();
    }
    const m = process.memoryUsage();
    return { rss: m.rss, heapUsed: m.heapUsed, pid: process.pid };
  }
}

service.handle(new Greeter(), { idempotent: ["read", "stats"] });
await service.run();
await registry.close();
process.exit(0);
