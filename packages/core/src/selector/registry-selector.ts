import { MicroError } from "../errors/micro-error.js";
import { getOrInsert } from "../internal/maps.js";
import type { Node, Registry, Service } from "../registry/registry.js";
import type { Next, SelectOptions, Selector, Strategy } from "./selector.js";
import { random } from "./strategies.js";

/** Options for {@link createSelector}. */
export interface SelectorOptions {
  /** Where nodes come from. Required. */
  registry: Registry;
  /** Default strategy. Default {@link random}. */
  strategy?: Strategy;
  /** Consecutive failures (`mark` with an error) after which a node is avoided. Default 3. */
  maxFailures?: number;
  /** How long an avoided node is skipped, in milliseconds, while others remain. Default 10 000. */
  ejectMs?: number;
}

/**
 * The default selector: asks the registry on each `select`, applies filters, then the strategy.
 * Nodes that failed `maxFailures` times in a row are skipped for `ejectMs` while another node is
 * available (Go Micro's default selector ignores marks; this one learns from them).
 */
export function createSelector(options: SelectorOptions): Selector {
  const { registry } = options;
  const maxFailures = options.maxFailures ?? 3;
  const ejectMs = options.ejectMs ?? 10_000;
  // service -> node id -> state
  const health = new Map<string, Map<string, { failures: number; ejectedUntil: number }>>();

  const ejected = (service: string): Set<string> => {
    const out = new Set<string>();
    const now = Date.now();
    for (const [id, h] of health.get(service) ?? []) if (h.ejectedUntil > now) out.add(id);
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
        throw MicroError.from(err, "go.micro.client");
      }
      for (const f of opts.filters ?? []) services = f(services);
      if (!services.some((s) => s.nodes.length > 0)) {
        throw MicroError.serviceUnavailable("go.micro.client", `service ${service}: none available`);
      }
      const next = (opts.strategy ?? options.strategy ?? random)(services);
      return (exclude) => {
        const skip = ejected(service);
        if (skip.size === 0) return next(exclude);
        for (const id of exclude ?? []) skip.add(id);
        return next(skip);
      };
    },
    mark(service: string, node: Node, error?: unknown) {
      const nodes = getOrInsert(health, service, () => new Map());
      if (error === undefined) {
        nodes.delete(node.id);
        return;
      }
      const h = nodes.get(node.id) ?? { failures: 0, ejectedUntil: 0 };
      h.failures++;
      if (h.failures >= maxFailures) h.ejectedUntil = Date.now() + ejectMs;
      nodes.set(node.id, h);
    },
    reset(service: string) {
      health.delete(service);
    },
    async close() {
      health.clear();
    },
  };
}
