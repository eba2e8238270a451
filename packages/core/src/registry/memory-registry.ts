import type { IoOptions } from "../context/call-options.js";
import { MicroError } from "../errors/micro-error.js";
import { getOrInsert } from "../internal/maps.js";
import type { RegisterOptions, Registry, RegistryEvent, Service, Watcher, WatchOptions } from "./registry.js";
import { cloneService } from "./service-util.js";
import { createWatcher } from "./watcher.js";

/** Options for {@link createMemoryRegistry}. */
export interface MemoryRegistryOptions {
  /** How often expired nodes are pruned, in milliseconds. Default 1000 (as Go Micro's memory registry). */
  pruneIntervalMs?: number;
  /** Services present from the start (Go's `registry.Services`). */
  services?: Service[];
}

interface NodeEntry {
  service: Service; // the version record this node belongs to (endpoints, metadata)
  node: Service["nodes"][number];
  expires: number; // epoch ms; Infinity without TTL
}

const ID = "go.micro.registry";

/**
 * An in-process registry with TTL expiry and watch. Share one instance between the services that
 * must see each other. Expired nodes are removed within `pruneIntervalMs` and reported as `delete`.
 */
export function createMemoryRegistry(options: MemoryRegistryOptions = {}): Registry {
  // name -> version -> node id -> entry
  const store = new Map<string, Map<string, Map<string, NodeEntry>>>();
  const watchers = new Set<(e: RegistryEvent) => void>();
  let timer: NodeJS.Timeout | undefined;
  const emit = (action: RegistryEvent["action"], service: Service) => {
    const event: RegistryEvent = { action, service: cloneService(service), timestamp: Date.now() };
    for (const w of watchers) w(event);
  };
  const ensureTimer = () => {
    if (timer) return;
    timer = setInterval(prune, options.pruneIntervalMs ?? 1000);
    timer.unref();
  };
  const prune = () => {
    const now = Date.now();
    for (const [name, versions] of store) {
      for (const [version, nodes] of versions) {
        for (const [id, entry] of nodes) {
          if (entry.expires <= now) {
            nodes.delete(id);
            emit("delete", { ...entry.service, nodes: [entry.node] });
          }
        }
        if (nodes.size === 0) versions.delete(version);
      }
      if (versions.size === 0) store.delete(name);
    }
  };
  const register = (service: Service, ttlMs?: number) => {
    validate(service);
    const versions = getOrInsert(store, service.name, () => new Map());
    const nodes = getOrInsert(versions, service.version, () => new Map());
    const record = cloneService({ ...service, nodes: [] });
    const expires = ttlMs && ttlMs > 0 ? Date.now() + ttlMs : Number.POSITIVE_INFINITY;
    let created = false;
    for (const node of service.nodes) {
      if (!nodes.has(node.id)) created = true;
      nodes.set(node.id, { service: record, node: structuredClone(node), expires });
    }
    // Endpoints and metadata of the version follow the latest registration.
    for (const e of nodes.values()) e.service = record;
    if (ttlMs && ttlMs > 0) ensureTimer();
    emit(created ? "create" : "update", service);
  };
  for (const s of options.services ?? []) register(s);

  return {
    name: "memory",
    async register(service: Service, opts: RegisterOptions = {}) {
      register(service, opts.ttlMs);
    },
    async deregister(service: Service, _opts?: IoOptions) {
      const nodes = store.get(service.name)?.get(service.version);
      if (!nodes) return;
      let removed = false;
      for (const n of service.nodes) removed = nodes.delete(n.id) || removed;
      if (nodes.size === 0) store.get(service.name)?.delete(service.version);
      if (store.get(service.name)?.size === 0) store.delete(service.name);
      if (removed) emit("delete", service);
    },
    async getService(name: string) {
      prune();
      const versions = store.get(name);
      if (!versions || versions.size === 0) throw MicroError.notFound(ID, `service ${name}: not found`);
      return [...versions.values()].map(toService);
    },
    async listServices() {
      prune();
      const out: Service[] = [];
      for (const versions of store.values())
        for (const nodes of versions.values()) out.push(toService(nodes));
      return out.sort((a, b) => a.name.localeCompare(b.name));
    },
    watch(opts: WatchOptions = {}): Watcher {
      return createWatcher((push) => {
        const listener = (e: RegistryEvent) => {
          if (!opts.service || e.service.name === opts.service) push(e);
        };
        watchers.add(listener);
        return () => watchers.delete(listener);
      }, opts.signal);
    },
    async close() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}

function toService(nodes: Map<string, NodeEntry>): Service {
  const entries = [...nodes.values()];
  const first = entries[0] as NodeEntry;
  return { ...cloneService(first.service), nodes: entries.map((e) => structuredClone(e.node)) };
}

function validate(service: Service): void {
  if (!service.name) throw MicroError.badRequest(ID, "register: service name is required");
  for (const n of service.nodes) {
    if (!n.id) throw MicroError.badRequest(ID, `register ${service.name}: node id is required`);
  }
}
