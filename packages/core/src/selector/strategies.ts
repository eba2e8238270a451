import { MicroError } from "../errors/micro-error.js";
import type { Node, Service } from "../registry/registry.js";
import type { Next, Strategy } from "./selector.js";

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
