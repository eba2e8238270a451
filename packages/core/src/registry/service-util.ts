import type { Service } from "./registry.js";

/** A deep copy of a service record (registries never hand out their own objects). */
export function cloneService(s: Service): Service {
  return structuredClone(s);
}

/**
 * The Go JSON form of a service record (`registry.Service` marshalled by `encoding/json`): nil maps
 * and slices as `null`, field order as Go's struct. Registries that store JSON (etcd, NATS, mDNS)
 * write this so Go peers read it unchanged.
 */
export function serviceToGo(s: Service): Record<string, unknown> {
  return {
    name: s.name,
    version: s.version,
    metadata: s.metadata ? sorted(s.metadata) : null,
    endpoints: s.endpoints.length
      ? s.endpoints.map((e) => ({
          request: e.request ? valueToGo(e.request) : null,
          response: e.response ? valueToGo(e.response) : null,
          metadata: e.metadata ? sorted(e.metadata) : null,
          name: e.name,
        }))
      : null,
    nodes: s.nodes.length
      ? s.nodes.map((n) => ({
          metadata: n.metadata ? sorted(n.metadata) : null,
          id: n.id,
          address: n.address,
        }))
      : null,
  };
}

/** A copy with keys in sorted order: Go's encoding/json writes map keys sorted. */
function sorted(m: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(m).sort()) out[k] = m[k] as string;
  return out;
}

function valueToGo(v: NonNullable<Service["endpoints"][number]["request"]>): Record<string, unknown> {
  return { name: v.name, type: v.type, values: v.values?.length ? v.values.map(valueToGo) : null };
}

/** Reads a service record written by Go (or by {@link serviceToGo}), tolerating `null`s. */
export function serviceFromGo(raw: unknown): Service {
  const o = (raw ?? {}) as Record<string, unknown>;
  const endpoints = Array.isArray(o.endpoints) ? (o.endpoints as Record<string, unknown>[]) : [];
  const nodes = Array.isArray(o.nodes) ? (o.nodes as Record<string, unknown>[]) : [];
  return {
    name: String(o.name ?? ""),
    version: String(o.version ?? ""),
    metadata: isRecord(o.metadata) ? stringRecord(o.metadata) : undefined,
    endpoints: endpoints.map((e) => ({
      name: String(e.name ?? ""),
      request: e.request ? valueFromGo(e.request) : undefined,
      response: e.response ? valueFromGo(e.response) : undefined,
      metadata: isRecord(e.metadata) ? stringRecord(e.metadata) : {},
    })),
    nodes: nodes.map((n) => ({
      id: String(n.id ?? ""),
      address: String(n.address ?? ""),
      metadata: isRecord(n.metadata) ? stringRecord(n.metadata) : {},
    })),
  };
}

function valueFromGo(raw: unknown): NonNullable<Service["endpoints"][number]["request"]> {
  const o = raw as Record<string, unknown>;
  const values = Array.isArray(o.values) ? o.values.map(valueFromGo) : undefined;
  return { name: String(o.name ?? ""), type: String(o.type ?? ""), ...(values ? { values } : {}) };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function stringRecord(o: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(o)) out[k] = String(v);
  return out;
}
