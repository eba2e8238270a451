import type { IoOptions } from "../context/call-options.js";
import { MicroError } from "../errors/micro-error.js";
import type { Logger } from "../logger/logger.js";
import { silentLogger } from "../logger/logger.js";
import type { RegisterOptions, Registry, RegistryEvent, Service, Watcher, WatchOptions } from "./registry.js";
import { cloneService } from "./service-util.js";

/** Options for {@link createCacheRegistry}. */
export interface CacheRegistryOptions {
  /**
   * How long a looked-up service is served without asking the registry again, in milliseconds.
   * Watch events keep it current in between. Default 60 000 (Go Micro's cache TTL).
   */
  ttlMs?: number;
  /**
   * How long stale entries are still served while the registry cannot be reached, in
   * milliseconds. Default: forever (calls keep working from the last known nodes).
   */
  staleMs?: number;
  /** After a failed refresh, how long before the registry is asked again, in milliseconds. Default 1 000. */
  retryMs?: number;
  logger?: Logger;
}

interface Entry {
  services: Service[];
  /** Frozen copy handed to callers; rebuilt after a change. */
  snapshot: readonly Service[] | undefined;
  fetched: number;
  /** No background refresh before this time (set after a failed refresh). */
  retryAt: number;
  watcher: Watcher | undefined;
}

/** A deep-frozen copy: callers share it, so nobody can change the cache by accident. */
function freeze(services: Service[]): readonly Service[] {
  const copy = services.map(cloneService);
  const deep = (v: unknown) => {
    if (v !== null && typeof v === "object" && !Object.isFrozen(v)) {
      Object.freeze(v);
      for (const x of Object.values(v)) deep(x);
    }
  };
  deep(copy);
  return copy;
}

/** A cached registry, plus what it knows about its health. */
export interface CacheRegistry extends Registry {
  /** Drops the cached entry of one service, or of all. */
  invalidate(service?: string): void;
  /** Whether the last lookup of the backend failed (lookups are being served stale). */
  readonly degraded: boolean;
}

/**
 * Serves `getService` from memory: Go Micro's `registry/cache`. The first lookup of a service
 * fetches it and starts a watch on it; watch events keep the entry current; entries older than
 * `ttlMs` are refreshed in the background while the known nodes keep answering, so a slow
 * registry never stalls a call. Concurrent lookups of one service share one fetch. When the
 * registry cannot be reached, the last known nodes are served (within `staleMs`), so calls keep
 * working through a registry outage, and the registry is asked again at most every `retryMs`. Writes and watches go straight to the wrapped registry.
 *
 * Records returned from the cache are shared between callers and deep-frozen: copy one
 * (`structuredClone`) before changing it.
 */
export function createCacheRegistry(registry: Registry, options: CacheRegistryOptions = {}): CacheRegistry {
  const ttlMs = options.ttlMs ?? 60_000;
  const staleMs = options.staleMs ?? Number.POSITIVE_INFINITY;
  const retryMs = options.retryMs ?? 1_000;
  const logger = options.logger ?? silentLogger;
  const entries = new Map<string, Entry>();
  const inflight = new Map<string, Promise<Service[]>>();
  let degraded = false;
  let closed = false;

  const startWatch = (name: string, entry: Entry) => {
    if (entry.watcher || closed) return;
    let watcher: Watcher;
    try {
      watcher = registry.watch({ service: name });
    } catch (err) {
      logger.debug(`cache: watch ${name} failed`, { err });
      return;
    }
    entry.watcher = watcher;
    void (async () => {
      try {
        for await (const event of watcher) apply(name, event);
      } catch (err) {
        logger.debug(`cache: watch ${name} ended`, { err });
      } finally {
        // A watch that ended leaves the entry to the TTL; the next fetch starts a new watch.
        if (entry.watcher === watcher) entry.watcher = undefined;
      }
    })();
  };

  const apply = (name: string, event: RegistryEvent) => {
    const entry = entries.get(name);
    if (!entry) return;
    entry.snapshot = undefined;
    const incoming = event.service;
    let version = entry.services.find((s) => s.version === incoming.version);
    if (event.action === "delete") {
      if (!version) return;
      const gone = new Set(incoming.nodes.map((n) => n.id));
      version.nodes = version.nodes.filter((n) => !gone.has(n.id));
      entry.services = entry.services.filter((s) => s.nodes.length > 0);
      return;
    }
    if (!version) {
      version = cloneService({ ...incoming, nodes: [] });
      entry.services.push(version);
    } else {
      version.endpoints = structuredClone(incoming.endpoints);
      version.metadata = incoming.metadata ? { ...incoming.metadata } : undefined;
    }
    for (const node of incoming.nodes) {
      const i = version.nodes.findIndex((n) => n.id === node.id);
      if (i >= 0) version.nodes[i] = structuredClone(node);
      else version.nodes.push(structuredClone(node));
    }
  };

  const fetch = (name: string, io: IoOptions): Promise<Service[]> => {
    let p = inflight.get(name);
    if (!p) {
      p = registry.getService(name, io).finally(() => inflight.delete(name));
      inflight.set(name, p);
    }
    return p;
  };

  /** Asks the registry (one request per service at a time) and stores the answer. */
  const refresh = async (name: string, opts: IoOptions): Promise<Service[]> => {
    try {
      const services = await fetch(name, opts);
      degraded = false;
      const fresh: Entry = entries.get(name) ?? {
        services: [],
        snapshot: undefined,
        fetched: 0,
        retryAt: 0,
        watcher: undefined,
      };
      fresh.services = services.map(cloneService);
      fresh.snapshot = undefined;
      fresh.fetched = Date.now();
      entries.set(name, fresh);
      if (ttlMs > 0) startWatch(name, fresh);
      return services;
    } catch (err) {
      const entry = entries.get(name);
      if (err instanceof MicroError && err.code === 404) {
        // The registry answered: the service is gone. Forget it.
        entry?.watcher?.stop();
        entries.delete(name);
        throw err;
      }
      degraded = true;
      if (entry) {
        // Do not ask a failing registry on every call: wait a little before the next refresh.
        entry.retryAt = Date.now() + Math.min(ttlMs, retryMs);
        logger.warn(`registry unreachable; serving ${name} from cache`, { err });
      }
      throw err;
    }
  };

  const cache: CacheRegistry = {
    name: registry.name,
    get degraded() {
      return degraded;
    },
    register: (service: Service, opts?: RegisterOptions) => registry.register(service, opts),
    deregister: (service: Service, opts?: IoOptions) => registry.deregister(service, opts),
    listServices: (opts?: IoOptions) => registry.listServices(opts),
    watch: (opts?: WatchOptions) => registry.watch(opts),
    async getService(name: string, opts: IoOptions = {}): Promise<Service[]> {
      const entry = entries.get(name);
      const now = Date.now();
      if (entry && entry.services.length > 0 && now - entry.fetched < staleMs) {
        // Known nodes answer at once; an expired entry is refreshed in the background, so a slow
        // or unreachable registry never stalls a call that has somewhere to go.
        if (now - entry.fetched >= ttlMs && now >= entry.retryAt) void refresh(name, opts).catch(() => {});
        entry.snapshot ??= freeze(entry.services);
        return entry.snapshot as Service[];
      }
      return refresh(name, opts);
    },
    invalidate(service?: string) {
      for (const [name, e] of entries) {
        if (service === undefined || name === service) {
          e.watcher?.stop();
          entries.delete(name);
        }
      }
    },
    async close() {
      closed = true;
      cache.invalidate();
    },
  };
  return cache;
}
