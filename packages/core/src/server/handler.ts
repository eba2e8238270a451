import { endpointName } from "../client/service-client.js";
import type { Context } from "../context/context.js";
import type { Endpoint, Value } from "../registry/registry.js";
import type { EndpointSpec, Handler, HandlerMethod, HandlerOptions, StreamKind } from "./server.js";

const AsyncGeneratorFunction = Object.getPrototypeOf(async function* () {}).constructor;

/**
 * Reflects a class instance into a Handler: every own or inherited public method (not the
 * constructor, not `_`-prefixed) becomes `Type.Method`.
 */
export function createHandler<T extends object>(instance: T, options: HandlerOptions<T> = {}): Handler {
  const name = options.name ?? instance.constructor?.name;
  if (!name || name === "Object") {
    throw new TypeError("handle: cannot derive a handler name from a plain object; pass options.name");
  }
  const methods = new Map<string, HandlerMethod>();
  for (const method of methodNames(instance)) {
    const fn = (instance as Record<string, unknown>)[method] as (input: unknown, ctx: Context) => unknown;
    const declared = (options.streams as Record<string, StreamKind> | undefined)?.[method];
    const kind: StreamKind = declared ?? (fn instanceof AsyncGeneratorFunction ? "server" : "unary");
    let spec = (options.endpoints as Record<string, EndpointSpec> | undefined)?.[method] ?? {};
    if ((options.idempotent as string[] | undefined)?.includes(method)) {
      spec = { ...spec, metadata: { ...(spec.metadata ?? {}), idempotent: "true" } };
    }
    const endpoint = endpointName(name, method);
    methods.set(endpoint.slice(name.length + 1), { method, endpoint, kind, spec, fn: fn.bind(instance) });
  }
  return fromMethods(name, methods, options as HandlerOptions);
}

/** A Handler from already-built methods (shared by classes and plain functions). */
export function fromMethods(
  name: string,
  methods: Map<string, HandlerMethod>,
  options: HandlerOptions,
): Handler {
  return {
    name,
    methods,
    options,
    endpoints: () => [...methods.values()].map(toEndpoint),
  };
}

function methodNames(instance: object): string[] {
  const names = new Set<string>();
  for (let p = instance; p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    for (const key of Object.getOwnPropertyNames(p)) {
      if (key === "constructor" || key.startsWith("_") || key.startsWith("#")) continue;
      const d = Object.getOwnPropertyDescriptor(p, key);
      if (d && typeof d.value === "function") names.add(key);
    }
  }
  return [...names].sort();
}

/** The registry record of a method, as Go Micro writes it. */
export function toEndpoint(m: HandlerMethod): Endpoint {
  const metadata: Record<string, string> = { ...(m.spec.metadata ?? {}) };
  if (m.kind !== "unary") {
    metadata.stream = "true";
    // Go Micro marks stream endpoints only with stream=true; the direction helps other clients.
    metadata.stream_kind = m.kind;
  }
  const stream = m.kind !== "unary";
  return {
    name: m.endpoint,
    request: m.spec.request ?? (stream ? { name: "Context", type: "Context" } : undefined),
    response: m.spec.response ?? (stream ? { name: "Stream", type: "Stream" } : undefined),
    metadata,
  };
}

/**
 * Derives a registry Value tree from an example value, the way Go Micro describes Go types:
 * strings are `string`, integers `int64`, other numbers `float64`, booleans `bool`, arrays
 * `[]<elem>`, objects their fields (to depth 3).
 */
export function describe(name: string, example: unknown, depth = 0): Value {
  const type = typeName(example);
  if (depth < 3 && example !== null && typeof example === "object" && !Array.isArray(example)) {
    return {
      name,
      type: depth === 0 ? name : type,
      values: Object.entries(example).map(([k, v]) => describe(k, v, depth + 1)),
    };
  }
  return { name, type };
}

function typeName(v: unknown): string {
  if (typeof v === "string") return "string";
  if (typeof v === "boolean") return "bool";
  if (typeof v === "number") return Number.isInteger(v) ? "int64" : "float64";
  if (typeof v === "bigint") return "int64";
  if (v instanceof Uint8Array) return "[]uint8";
  if (Array.isArray(v)) return `[]${v.length ? typeName(v[0]) : "interface {}"}`;
  if (v === null || v === undefined) return "interface {}";
  return "object";
}
