import { MicroError } from "../errors/micro-error.js";
import { getOrInsert } from "../internal/maps.js";
import { type CacheRegistryOptions, createCacheRegistry } from "../registry/cache-registry.js";
import type { Node, Registry, Service } from "../registry/registry.js";
import type { Next, NodeStats, SelectOptions, Selector, Strategy } from "./selector.js";
import { random } from "./strategies.js";

/** Options for {@link createSelector}. */
export interface SelectorOptions {
  /** Where nodes come from. Required. */
  registry: Registry;
  /**
   * Serve lookups from a cache kept fresh by watch (see `createCacheRegistry`); `false` asks the
   * registry on every call. Default: a cache with a 60 s TTL that serves the last known nodes
   * while the registry is unreachable.
   */
  cache?: boolean | CacheRegistryOptions;
  /** Default strategy. Default {@link random}. */
  strategy?: Strategy;
  /** Consecutive failures after which a node is ejected. Default 3. */
  maxFailures?: number;
  /**
   * First ejection, in milliseconds. A node that fails its probe after an ejection is ejected
   * again for twice as long, up to `maxEjectMs`. Default 5 000.
   */
  ejectMs?: number;
  /** Longest ejection, in milliseconds. Default 60 000. */
  maxEjectMs?: number;
}

interface Health {
  failures: number;
  ejections: number;
  ejectedUntil: number;
}

/** Idle call counters kept before the idle ones are dropped. */
const MAX_IDLE_COUNTERS = 1024;

/**
 * The default selector. Looks services up (through a cache by default), applies filters, then
 * the strategy. It learns from `mark`: a node that failed `maxFailures` times in a row is
 * ejected, skipped while any other node is available; when the ejection ends the node gets
 * traffic again (a probe): one more failure ejects it for twice as long, a success clears it.
 * With every node ejected, calls still go to one of them rather than fail outright.
 * `track` counts calls in progress per node, for {@link leastOutstanding}.
 */
export function createSelector(options: SelectorOptions): Selector {
  const registry =
    options.cache === false
      ? options.registry
      : createCacheRegistry(options.registry, options.cache === true ? {} : (options.cache ?? {}));
  const maxFailures = options.maxFailures ?? 3;
  const ejectMs = options.ejectMs ?? 5_000;
  const maxEjectMs = options.maxEjectMs ?? 60_000;
  const health = new Map<string, Map<string, Health>>();
  /**
   * Calls in progress by node id. A node's counter stays once made (until `close`, or past 1,024
   * idle ones): a call then costs one lookup, where taking the entry out at zero cost a lookup and
   * a re-insertion per call, with the churn a `Map` pays for (see IdTable).
   */
  const outstanding = new Map<string, { calls: number }>();
  const stats: NodeStats = { outstanding: (id) => outstanding.get(id)?.calls ?? 0 };

  const ejected = (service: string): Set<string> | undefined => {
    const nodes = health.get(service);
    if (!nodes) return undefined;
    let out: Set<string> | undefined;
    const now = Date.now();
    for (const [id, h] of nodes) {
      if (h.ejectedUntil > now) {
        out ??= new Set();
        out.add(id);
      }
    }
    return out;
  };

  return {
    name: "registry",
    async select(service: string, opts: SelectOptions = {}): Promise<Next> {
      let services: Service[];
      try {
        services = await registry.getService(service, opts);
      } catch (err) {
        if (err instanceof MicroError && err.code === 404) {
          throw MicroError.internalServerError("go.micro.client", `service ${service}: not found`, {
            cause: err,
          });
        }
        throw MicroError.from(err, "go.micro.client", 503);
      }
      for (const f of opts.filters ?? []) services = f(services);
      if (!services.some((s) => s.nodes.length > 0)) {
        throw MicroError.serviceUnavailable("go.micro.client", `service ${service}: none available`);
      }
      const next = (opts.strategy ?? options.strategy ?? random)(services, stats);
      const pick = (exclude?: ReadonlySet<string>) => {
        const skip = ejected(service);
        if (!skip) return next(exclude);
        for (const id of exclude ?? []) skip.add(id);
        return next(skip);
      };
      return Object.assign(pick, { services });
    },
    mark(service: string, node: Node, error?: unknown) {
      if (error === undefined) {
        health.get(service)?.delete(node.id);
        return;
      }
      const nodes = getOrInsert(health, service, () => new Map<string, Health>());
      const h = getOrInsert(nodes, node.id, () => ({ failures: 0, ejections: 0, ejectedUntil: 0 }));
      h.failures++;
      // A probe after an ejection that fails again re-ejects at once, for longer.
      if (h.failures >= maxFailures || h.ejections > 0) {
        h.ejectedUntil = Date.now() + Math.min(maxEjectMs, ejectMs * 2 ** h.ejections);
        h.ejections++;
        h.failures = 0;
      }
    },
    reset(service: string) {
      health.delete(service);
    },
    track(_service: string, node: Node) {
      let counter = outstanding.get(node.id);
      if (counter === undefined) {
        if (outstanding.size >= MAX_IDLE_COUNTERS) {
          for (const [id, c] of outstanding) if (c.calls === 0) outstanding.delete(id);
        }
        counter = { calls: 0 };
        outstanding.set(node.id, counter);
      }
      const c = counter;
      c.calls++;
      let done = false;
      return () => {
        if (done) return;
        done = true;
        c.calls--;
      };
    },
    async close() {
      health.clear();
      outstanding.clear();
      if (registry !== options.registry) await registry.close();
    },
  };
}
