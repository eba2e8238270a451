import type {
  IoOptions,
  Logger,
  RegisterOptions,
  Registry,
  RegistryEvent,
  ServiceRecord as Service,
  Watcher,
  WatchOptions,
} from "@microts/core";
import { createWatcher, MicroError, serviceFromGo, serviceToGo, silentLogger } from "@microts/core";
import { deadlineSignal, goJson } from "@microts/core/internal";
import { DEFAULT_ADDRESS, parseEndpoints } from "./address.js";
import { EtcdClient } from "./etcd-client.js";
import { DEFAULT_PREFIX, nodeKey, normalizePrefix, prefixEnd, serviceKeyPrefix } from "./keys.js";
import { createLeaseKeeper } from "./lease-keeper.js";
import { type PrefixWatch, startPrefixWatch } from "./prefix-watch.js";

/** Options for {@link createEtcdRegistry}. */
export interface EtcdRegistryOptions {
  /**
   * etcd client endpoint(s): `host:port`, `etcd://host:port` or `http://host:port`; a
   * comma-separated list is tried in order when an endpoint cannot be reached. Port default 2379.
   * Default `"127.0.0.1:2379"` (Go Micro's default).
   */
  address?: string;
  /**
   * Budget of every etcd request in milliseconds (Go Micro's dial/operation timeout). A request
   * with no answer within it fails with MicroError 503. A caller's smaller `timeoutMs` wins and
   * fails with 408. Default 5000.
   */
  timeoutMs?: number;
  /** etcd user (authentication through `/v3/auth/authenticate`). Default `$ETCD_USERNAME`, else none. */
  username?: string;
  /** Password of `username`. Default `$ETCD_PASSWORD`. */
  password?: string;
  /** Key prefix of every record. Default `"/micro/registry/"` (Go Micro's). */
  prefix?: string;
  /**
   * Read consistency of `getService` and `listServices`. `"serializable"` (default, as Go Micro)
   * answers from the contacted member's local state: fast and available without quorum, possibly
   * stale on a lagging follower. `"linearizable"` goes through the leader (one more round trip)
   * and always sees every completed write.
   */
  consistency?: "serializable" | "linearizable";
  /**
   * Keep each lease alive in the background (refresh every TTL/3, as etcd's Go client does)
   * while the registry is open, and put the keys back with a new lease when one is lost. With
   * `false`, a node registered with `ttlMs` disappears unless `register` is called again within
   * the TTL (each call refreshes the lease, as Go Micro's `KeepAliveOnce` on re-registration).
   * Default true.
   */
  keepAlive?: boolean;
  /** Where lease losses and re-registrations are reported. Default: silent. */
  logger?: Logger;
}

const ID = "go.micro.registry";

/**
 * A registry on etcd v3, compatible with Go Micro's `registry/etcd`: same keys
 * (`/micro/registry/<service>/<node>`, `/` in names replaced by `-`), same JSON values (the
 * service with only that node), same lease-based TTL. Go and TypeScript services registered in
 * the same etcd see each other.
 *
 * TTL: `register(s, { ttlMs })` grants a lease of ceil(ttlMs / 1000) seconds (etcd raises it to
 * its minimum, about 2 s by default), puts each node key with it, and keeps the lease alive every
 * TTL/3 until `deregister` or `close`. When the lease is lost (expired during a partition, revoked,
 * etcd's data replaced) a new lease is granted and the keys are written again, automatically.
 * Without `ttlMs` the keys have no lease and stay until deregistered.
 *
 * Errors: etcd unreachable or silent for `timeoutMs` → 503; caller deadline → 408; service not
 * found → 404; missing name or node id → 400.
 */
export function createEtcdRegistry(options: EtcdRegistryOptions = {}): Registry {
  const timeoutMs = options.timeoutMs ?? 5000;
  const prefix = normalizePrefix(options.prefix ?? DEFAULT_PREFIX);
  const serializable = (options.consistency ?? "serializable") === "serializable";
  const logger = options.logger ?? silentLogger;
  const client = new EtcdClient({
    endpoints: parseEndpoints(options.address ?? DEFAULT_ADDRESS),
    timeoutMs,
    username: options.username ?? process.env.ETCD_USERNAME,
    password: options.password ?? process.env.ETCD_PASSWORD,
  });
  const leases = createLeaseKeeper(client, logger, options.keepAlive ?? true);
  const running = new Set<PrefixWatch>(); // every open watch, stopped on close
  const starting = new Set<PrefixWatch>(); // watches not yet established in etcd
  let closed = false;

  const checkOpen = (what: string) => {
    if (closed) throw MicroError.serviceUnavailable(ID, `etcd ${what}: registry closed`);
  };

  // A write made right after watch() must be seen by that watch: wait (bounded) until every
  // watch being established has been created in etcd.
  const watchesReady = async () => {
    const pending = [...starting].map((w) => w.ready);
    if (pending.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(pending),
      new Promise<void>((r) => {
        timer = setTimeout(r, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
  };

  const read = async (key: string, io?: IoOptions) => {
    const start = Buffer.from(key, "utf8");
    const { kvs } = await client.range(start, prefixEnd(start), { serializable }, io);
    const out: Service[] = [];
    for (const kv of kvs) {
      const s = decode(kv.value);
      if (s) out.push(s);
    }
    return out;
  };

  return {
    name: "etcd",

    async register(service: Service, opts: RegisterOptions = {}) {
      checkOpen("register");
      validate(service);
      await watchesReady();
      const ttlSec = opts.ttlMs && opts.ttlMs > 0 ? Math.max(1, Math.ceil(opts.ttlMs / 1000)) : 0;
      // The caller's deadline covers the whole registration (grant + put per node).
      const deadline = deadlineSignal(ID, "etcd register", opts.signal, opts.timeoutMs);
      try {
        await Promise.all(
          service.nodes.map((node) => {
            const value = goJson(sortMaps(serviceToGo({ ...service, nodes: [node] })));
            return leases.put(nodeKey(prefix, service.name, node.id), value, ttlSec, {
              signal: deadline.signal,
            });
          }),
        );
      } finally {
        deadline.cleanup();
      }
    },

    async deregister(service: Service, opts: IoOptions = {}) {
      checkOpen("deregister");
      await watchesReady();
      const deadline = deadlineSignal(ID, "etcd deregister", opts.signal, opts.timeoutMs);
      try {
        await Promise.all(
          service.nodes.map((node) =>
            leases.remove(nodeKey(prefix, service.name, node.id), { signal: deadline.signal }),
          ),
        );
      } finally {
        deadline.cleanup();
      }
    },

    async getService(name: string, opts: IoOptions = {}) {
      checkOpen("getService");
      const versions = new Map<string, Service>();
      for (const s of await read(serviceKeyPrefix(prefix, name), opts)) {
        // Keys flatten "/" to "-": "a/b" and "a-b" share a prefix, so compare the stored name.
        if (s.name !== name) continue;
        const v = versions.get(s.version);
        if (v) v.nodes.push(...s.nodes);
        else versions.set(s.version, s);
      }
      if (versions.size === 0) throw MicroError.notFound(ID, `service ${name}: not found`);
      return [...versions.values()];
    },

    async listServices(opts: IoOptions = {}) {
      checkOpen("listServices");
      const services = new Map<string, Service>();
      for (const s of await read(prefix, opts)) {
        const id = `${s.name}\u0000${s.version}`;
        const v = services.get(id);
        if (v) v.nodes.push(...s.nodes);
        else services.set(id, s);
      }
      return [...services.values()].sort((a, b) =>
        a.name === b.name ? compare(a.version, b.version) : compare(a.name, b.name),
      );
    },

    watch(opts: WatchOptions = {}): Watcher {
      const key = opts.service ? serviceKeyPrefix(prefix, opts.service) : prefix;
      let pw: PrefixWatch | undefined;
      const end = () => {
        if (!pw) return;
        pw.stop();
        running.delete(pw);
        starting.delete(pw);
      };
      const inner = createWatcher((push) => {
        pw = startPrefixWatch(
          client,
          key,
          (change) => {
            const service = decode(change.value);
            if (!service || (opts.service && service.name !== opts.service)) return;
            push({ action: change.action, service, timestamp: Date.now() });
          },
          logger,
        );
        const w = pw;
        running.add(w);
        starting.add(w);
        // Once established, a watch no longer delays writes.
        void w.ready.then(() => starting.delete(w));
        return end;
      }, opts.signal);
      if (closed) inner.stop();
      return withStop(inner, () => {
        end();
        inner.stop();
      });
    },

    async close() {
      if (closed) return;
      closed = true;
      for (const w of running) w.stop();
      running.clear();
      starting.clear();
      leases.close();
      client.close();
    },
  };
}

/**
 * `inner` whose every way of ending (stop, dispose, `break` out of `for await`) also runs `stop`:
 * core's watcher does not unsubscribe when iteration ends through the iterator's `return()`.
 */
function withStop(inner: Watcher, stop: () => void): Watcher {
  return {
    next: () => inner.next(),
    stop,
    [Symbol.asyncIterator]() {
      const it = inner[Symbol.asyncIterator]();
      const iterator: AsyncIterableIterator<RegistryEvent> = {
        next: () => it.next(),
        async return() {
          stop();
          return it.return ? await it.return() : { value: undefined, done: true };
        },
        [Symbol.asyncIterator]() {
          return iterator;
        },
      };
      return iterator;
    },
    async [Symbol.asyncDispose]() {
      stop();
    },
  };
}

/**
 * The Go record with every `metadata` map's keys sorted, as Go's encoding/json writes maps, so
 * our bytes equal what a Go service would write for the same record.
 */
function sortMaps(v: unknown, key = ""): unknown {
  if (Array.isArray(v)) return v.map((x) => sortMaps(x));
  if (v === null || typeof v !== "object") return v;
  const o = v as Record<string, unknown>;
  const keys = key === "metadata" ? Object.keys(o).sort() : Object.keys(o);
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = sortMaps(o[k], k);
  return out;
}

function decode(value: string): Service | undefined {
  try {
    const s = serviceFromGo(JSON.parse(value));
    return s.name ? s : undefined;
  } catch {
    return undefined; // not a registry record: ignored, as Go's decode does
  }
}

function validate(service: Service): void {
  if (!service.name) throw MicroError.badRequest(ID, "register: service name is required");
  if (service.nodes.length === 0) {
    throw MicroError.badRequest(ID, `register ${service.name}: at least one node is required`);
  }
  for (const n of service.nodes) {
    if (!n.id) throw MicroError.badRequest(ID, `register ${service.name}: node id is required`);
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
