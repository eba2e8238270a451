import { MicroError } from "../errors/micro-error.js";
import type { Node, Service } from "../registry/registry.js";
import type { Next, NodeStats, Strategy } from "./selector.js";

function flatten(services: Service[]): Node[] {
  const out: Node[] = [];
  for (const s of services) for (const n of s.nodes) out.push(n);
  return out;
}

function noneAvailable(): MicroError {
  return MicroError.serviceUnavailable("go.micro.client", "none available");
}

function candidates(nodes: Node[], exclude?: ReadonlySet<string>): Node[] {
  if (!exclude || exclude.size === 0) return nodes;
  const rest = nodes.filter((n) => !exclude.has(n.id));
  return rest.length > 0 ? rest : nodes;
}

/** Picks a node uniformly at random on every call, avoiding excluded nodes while others exist. */
export const random: Strategy = (services): Next => {
  const nodes = flatten(services);
  return (exclude) => {
    const c = candidates(nodes, exclude);
    if (c.length === 0) throw noneAvailable();
    return c[Math.floor(Math.random() * c.length)] as Node;
  };
};

/**
 * Cycles through the nodes from a random starting point, avoiding excluded nodes while others
 * exist. The cycle is per `Next` (per call), as in Go Micro.
 */
export const roundRobin: Strategy = (services): Next => {
  const nodes = flatten(services);
  let i = Math.floor(Math.random() * Math.max(1, nodes.length));
  return (exclude) => {
    const c = candidates(nodes, exclude);
    if (c.length === 0) throw noneAvailable();
    return c[i++ % c.length] as Node;
  };
};

/**
 * Least outstanding requests, by the power of two choices: picks two random candidates and takes
 * the one with fewer calls in progress, so slow or overloaded nodes get less traffic without
 * herding every caller onto one node. Needs a selector that tracks calls (the default one does);
 * without statistics it behaves like {@link random}.
 */
export const leastOutstanding: Strategy = (services, stats?: NodeStats): Next => {
  const nodes = flatten(services);
  return (exclude) => {
    const c = candidates(nodes, exclude);
    if (c.length === 0) throw noneAvailable();
    const a = c[Math.floor(Math.random() * c.length)] as Node;
    if (!stats || c.length === 1) return a;
    let b = c[Math.floor(Math.random() * c.length)] as Node;
    if (b === a) b = c[(c.indexOf(a) + 1) % c.length] as Node;
    return stats.outstanding(b.id) < stats.outstanding(a.id) ? b : a;
  };
};
