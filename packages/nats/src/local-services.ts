import type { ServiceRecord } from "@microts/core";

type Node = ServiceRecord["nodes"][number];

interface VersionEntry {
  service: Omit<ServiceRecord, "nodes">;
  nodes: Map<string, Node>;
}

/**
 * The services one registry instance registered, by name, version and node id: what it answers
 * queries with (Go's `natsRegistry.services`). Registering a node again replaces it; a version
 * without nodes disappears.
 */
export class LocalServices {
  private readonly byName = new Map<string, Map<string, VersionEntry>>();

  get size(): number {
    return this.byName.size;
  }

  add(s: ServiceRecord): void {
    let versions = this.byName.get(s.name);
    if (!versions) {
      versions = new Map();
      this.byName.set(s.name, versions);
    }
    const { nodes, ...rest } = structuredClone(s);
    const entry = versions.get(s.version) ?? { service: rest, nodes: new Map<string, Node>() };
    // The latest registration describes the version (endpoints, metadata), as in Go.
    entry.service = rest;
    for (const n of nodes) entry.nodes.set(n.id, n);
    versions.set(s.version, entry);
  }

  /** Removes the given nodes (all nodes of the version when `s.nodes` is empty); true if any was removed. */
  remove(s: Pick<ServiceRecord, "name" | "version" | "nodes">): boolean {
    const versions = this.byName.get(s.name);
    const entry = versions?.get(s.version);
    if (!versions || !entry) return false;
    let removed = false;
    if (s.nodes.length === 0) {
      removed = entry.nodes.size > 0;
      entry.nodes.clear();
    }
    for (const n of s.nodes) removed = entry.nodes.delete(n.id) || removed;
    if (entry.nodes.size === 0) versions.delete(s.version);
    if (versions.size === 0) this.byName.delete(s.name);
    return removed;
  }

  /** Every version of `name` (undefined: of every service), each with its nodes. */
  list(name?: string): ServiceRecord[] {
    const out: ServiceRecord[] = [];
    const names = name === undefined ? [...this.byName.keys()] : [name];
    for (const n of names) {
      for (const e of this.byName.get(n)?.values() ?? []) {
        out.push({ ...structuredClone(e.service), nodes: structuredClone([...e.nodes.values()]) });
      }
    }
    return out;
  }

  clear(): void {
    this.byName.clear();
  }
}

/**
 * Merges query replies by name and version (Go's `name + "-" + version` key), keeping one node per
 * id. Returns the merged list and, for quorum checks, the node count of the version just merged.
 */
export class ReplyMerger {
  private readonly merged = new Map<string, ServiceRecord>();

  add(s: ServiceRecord): number {
    const key = `${s.name}\u0000${s.version}`;
    const have = this.merged.get(key);
    if (!have) {
      const copy = { ...s, nodes: dedupe(s.nodes) };
      this.merged.set(key, copy);
      return copy.nodes.length;
    }
    have.nodes = dedupe([...have.nodes, ...s.nodes]);
    if (have.endpoints.length === 0 && s.endpoints.length > 0) have.endpoints = s.endpoints;
    if (!have.metadata && s.metadata) have.metadata = s.metadata;
    return have.nodes.length;
  }

  get size(): number {
    return this.merged.size;
  }

  result(): ServiceRecord[] {
    return [...this.merged.values()].sort(
      (a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version),
    );
  }
}

function dedupe(nodes: Node[]): Node[] {
  const m = new Map<string, Node>();
  for (const n of nodes) m.set(n.id, n);
  return [...m.values()];
}
