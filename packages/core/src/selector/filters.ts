import type { Service } from "../registry/registry.js";
import type { Filter } from "./selector.js";

/** Keeps services that advertise the endpoint `name` (e.g. `Greeter.Hello`). */
export function filterEndpoint(name: string): Filter {
  return (services) => services.filter((s) => s.endpoints.some((e) => e.name === name));
}

/** Keeps nodes whose metadata `key` equals `value`; services left without nodes are dropped. */
export function filterLabel(key: string, value: string): Filter {
  return (services) =>
    services
      .map((s): Service => ({ ...s, nodes: s.nodes.filter((n) => n.metadata[key] === value) }))
      .filter((s) => s.nodes.length > 0);
}

/** Keeps services of version `version`. */
export function filterVersion(version: string): Filter {
  return (services) => services.filter((s) => s.version === version);
}
