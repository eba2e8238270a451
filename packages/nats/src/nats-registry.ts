import type {
  IoOptions,
  RegisterOptions,
  Registry,
  RegistryAction,
  RegistryEvent,
  ServiceRecord,
  Watcher,
  WatchOptions,
} from "@microts/core";
import { createWatcher, MicroError, serviceFromGo, serviceToGo } from "@microts/core";
import { deadlineSignal, goJson, raceSignal } from "@microts/core/internal";
import type { Msg, NatsConnection, Subscription } from "@nats-io/transport-node";
import { createInbox } from "@nats-io/transport-node";
import type { NatsConnectionConfig } from "./connection.js";
import { Connector, errorText, flushConnection } from "./connection.js";
import { LocalServices, ReplyMerger } from "./local-services.js";

/** Options for {@link createNatsRegistry}. */
export interface NatsRegistryOptions extends NatsConnectionConfig {
  /** Subject every registering instance answers queries on (Go's `QueryTopic`). Default `micro.nats.query`. */
  queryTopic?: string | undefined;
  /** Subject register/deregister events go to and watches read (Go's `WatchTopic`). Default `micro.nats.watch`. */
  watchTopic?: string | undefined;
  /**
   * How long `getService`/`listServices` collect replies, in milliseconds (Go's `Timeout`).
   * A call's own `timeoutMs` shortens it. Default 100.
   */
  timeoutMs?: number | undefined;
  /**
   * `getService` stops collecting early once one version has this many nodes (Go's `Quorum`).
   * Default 0: always wait the full `timeoutMs`.
   */
  quorum?: number | undefined;
  /** The action `register` announces on the watch subject (Go's `RegisterAction`). Default `create`. */
  registerAction?: "create" | "update" | undefined;
}

/** A NATS registry: the {@link Registry} contract plus an explicit `connect`. */
export interface NatsRegistry extends Registry {
  /** Opens the connection now instead of on first use (so that a following `watch` starts at once). */
  connect(options?: IoOptions): Promise<void>;
}

const ID = "go.micro.registry";
const ACTIONS = new Set<string>(["create", "update", "delete"]);
/** When, after a reconnect, an instance re-announces its services on the watch subject. */
const REANNOUNCE_MS = [0, 1_000, 5_000];

/**
 * Service discovery over NATS, wire-compatible with Go Micro's `registry/nats`. There is no central
 * store: every instance that registers something subscribes to the query subject and answers
 * `{"Service":{...},"Action":"get"|"list"}` queries with one Go-JSON `Service` per version it
 * registered. `getService`/`listServices` publish a query with a fresh inbox as reply subject and
 * merge the replies that arrive within `timeoutMs` (100 ms). Register and deregister also publish
 * `{"Service":...,"Action":"create"|"delete"}` on the watch subject, which `watch` reads.
 *
 * Consistency: answers are live, so a crashed process disappears from queries at once; a query made
 * while a replier is slow (> `timeoutMs`) misses it. Go's NATS registry has no TTL; here a
 * `register(..., { ttlMs })` makes the owning instance drop the node (and announce `delete`) unless it
 * registers again within the TTL. After a reconnect the instance re-announces what it registered
 * (at once, after 1 s and after 5 s, since watchers reconnect at their own pace).
 *
 * Errors: 404 `service not found`; 503 when NATS is unreachable or disconnected; 408 / 499 on
 * deadline / abort; 400 for a service without a name.
 */
export function createNatsRegistry(options: NatsRegistryOptions = {}): NatsRegistry {
  const queryTopic = options.queryTopic ?? "micro.nats.query";
  const watchTopic = options.watchTopic ?? "micro.nats.watch";
  const windowMs = options.timeoutMs ?? 100;
  const quorum = options.quorum ?? 0;
  const registerAction = options.registerAction ?? "create";
  const connector = new Connector(ID, options);
  const local = new LocalServices();
  const ttlTimers = new Map<string, NodeJS.Timeout>();
  const watchers = new Set<Watcher>();
  let querySub: Subscription | undefined;
  let reannounceTimers: NodeJS.Timeout[] = [];
  let disconnected = false;
  let statusHooked = false;

  const hookStatus = () => {
    if (statusHooked) return;
    statusHooked = true;
    connector.onStatus((s) => {
      if (s.type === "disconnect") disconnected = true;
      else if (s.type === "reconnect") {
        disconnected = false;
        // The server may have restarted and watchers elsewhere may reconnect after us: announce
        // what we own now and twice more, so their watches (at-most-once) still hear about it.
        for (const t of reannounceTimers) clearTimeout(t);
        reannounceTimers = REANNOUNCE_MS.map((ms) => {
          const t = setTimeout(() => {
            const nc = connector.current;
            if (nc) for (const svc of local.list()) publishEvent(nc, registerAction, svc);
          }, ms);
          t.unref();
          return t;
        });
      }
    });
  };

  const conn = async (io: IoOptions = {}): Promise<NatsConnection> => {
    const nc = await connector.connect({
      signal: io.signal,
      timeoutMs: io.timeoutMs ?? options.connectTimeoutMs ?? 5_000,
    });
    hookStatus();
    return nc;
  };

  const publishEvent = (nc: NatsConnection, action: string, s: ServiceRecord) => {
    try {
      nc.publish(watchTopic, goJson({ Service: serviceToGo(s), Action: action }));
    } catch {
      // a closed connection: the event is lost, as a Go publish error would be ignored by callers
    }
  };

  const flush = (nc: NatsConnection, io: IoOptions, what: string) =>
    flushConnection(ID, nc, io, what, options.connectTimeoutMs ?? 5_000);

  const answer = (nc: NatsConnection, m: Msg) => {
    if (!m.reply) return;
    let q: { Service?: unknown; Action?: unknown };
    try {
      q = m.json();
    } catch {
      return; // not a query: Go ignores it too
    }
    if (q === null || typeof q !== "object") return;
    let services: ServiceRecord[];
    if (q.Action === "get") {
      const name = (q.Service as { name?: unknown } | null | undefined)?.name;
      if (typeof name !== "string") return;
      services = local.list(name);
    } else if (q.Action === "list") services = local.list();
    else return;
    for (const s of services) {
      try {
        nc.publish(m.reply, goJson(serviceToGo(s)));
      } catch {
        // the connection closed while answering; the querier times out
      }
    }
  };

  const ensureQuerySub = (nc: NatsConnection) => {
    if (querySub && !querySub.isClosed()) return;
    querySub = nc.subscribe(queryTopic, {
      callback: (err, m) => {
        if (!err) answer(nc, m);
      },
    });
  };

  const nodeKey = (name: string, version: string, id: string) => `${name}\u0000${version}\u0000${id}`;

  const armTtl = (s: ServiceRecord, ttlMs: number | undefined) => {
    for (const n of s.nodes) {
      const key = nodeKey(s.name, s.version, n.id);
      const old = ttlTimers.get(key);
      if (old) clearTimeout(old);
      ttlTimers.delete(key);
      if (ttlMs === undefined || ttlMs <= 0 || !Number.isFinite(ttlMs)) continue;
      const t = setTimeout(() => {
        ttlTimers.delete(key);
        const expired: ServiceRecord = { ...s, nodes: [n] };
        if (!local.remove(expired)) return;
        const nc = connector.current;
        if (nc) publishEvent(nc, "delete", expired);
      }, ttlMs);
      t.unref();
      ttlTimers.set(key, t);
    }
  };

  const query = async (name: string | undefined, io: IoOptions): Promise<ServiceRecord[]> => {
    const what = name === undefined ? "list services" : `get service ${name}`;
    const nc = await conn(io);
    if (disconnected) throw MicroError.serviceUnavailable(ID, `${what}: nats disconnected`);
    const merger = new ReplyMerger();
    const inbox = createInbox(options.connectionOptions?.inboxPrefix);
    const window = Math.min(windowMs, io.timeoutMs ?? Number.POSITIVE_INFINITY);
    let done: (() => void) | undefined;
    const finished = new Promise<void>((resolve) => {
      done = resolve;
    });
    const sub = nc.subscribe(inbox, {
      callback: (err, m) => {
        if (err) return;
        let s: ServiceRecord;
        try {
          s = serviceFromGo(m.json());
        } catch {
          return; // a malformed reply is skipped, as in Go
        }
        if (!s.name || (name !== undefined && s.name !== name)) return;
        const nodes = merger.add(s);
        if (name !== undefined && quorum > 0 && nodes >= quorum) done?.();
      },
    });
    const timer = setTimeout(() => done?.(), Math.max(0, window));
    const d = deadlineSignal(ID, what, io.signal, undefined);
    try {
      const q = name === undefined ? { Service: null, Action: "list" } : queryFor(name);
      nc.publish(queryTopic, goJson(q), { reply: inbox });
      await raceSignal(finished, d.signal, ID, what);
    } catch (err) {
      throw err instanceof MicroError
        ? err
        : MicroError.serviceUnavailable(ID, `${what}: ${errorText(err)}`, { cause: err });
    } finally {
      clearTimeout(timer);
      d.cleanup();
      sub.unsubscribe();
    }
    return merger.result();
  };

  const registry: NatsRegistry = {
    name: "nats",

    async connect(io: IoOptions = {}) {
      await conn(io);
    },

    async register(service: ServiceRecord, opts: RegisterOptions = {}) {
      if (!service.name) throw MicroError.badRequest(ID, "register: service name is required");
      const nc = await conn(opts);
      local.add(service);
      armTtl(service, opts.ttlMs);
      ensureQuerySub(nc);
      publishEvent(nc, registerAction, service);
      // Resolves once the server has our query subscription and the event: queries made after
      // `register` returns find this instance.
      await flush(nc, opts, `register ${service.name}`);
    },

    async deregister(service: ServiceRecord, opts: IoOptions = {}) {
      if (!service.name) throw MicroError.badRequest(ID, "deregister: service name is required");
      const nc = await conn(opts);
      local.remove(service);
      for (const n of service.nodes) {
        const key = nodeKey(service.name, service.version, n.id);
        const t = ttlTimers.get(key);
        if (t) clearTimeout(t);
        ttlTimers.delete(key);
      }
      publishEvent(nc, "delete", service);
      await flush(nc, opts, `deregister ${service.name}`);
    },

    async getService(name: string, opts: IoOptions = {}) {
      const found = await query(name, opts);
      if (found.length === 0) throw MicroError.notFound(ID, "service not found");
      return found;
    },

    async listServices(opts: IoOptions = {}) {
      return query(undefined, opts);
    },

    watch(opts: WatchOptions = {}): Watcher {
      let w: Watcher | undefined;
      w = createWatcher((push) => {
        let sub: Subscription | undefined;
        let stopped = false;
        const start = (nc: NatsConnection) => {
          if (stopped) return;
          sub = nc.subscribe(watchTopic, {
            callback: (err, m) => {
              if (err) return;
              const e = toEvent(m);
              if (e && (!opts.service || e.service.name === opts.service)) push(e);
            },
          });
        };
        const nc = connector.current;
        if (nc) start(nc);
        else {
          conn().then(start, () => {
            // unreachable: the watcher stays empty; the next registry call reports the error
          });
        }
        return () => {
          stopped = true;
          sub?.unsubscribe();
          if (w) watchers.delete(w);
        };
      }, opts.signal);
      watchers.add(w);
      return w;
    },

    async close() {
      if (connector.isClosed) return;
      for (const t of ttlTimers.values()) clearTimeout(t);
      ttlTimers.clear();
      for (const t of reannounceTimers) clearTimeout(t);
      for (const w of [...watchers]) w.stop();
      const nc = connector.current;
      if (nc) {
        // Tell watchers the nodes are gone (Go stays silent; queries simply stop finding them).
        for (const s of local.list()) publishEvent(nc, "delete", s);
        querySub?.unsubscribe();
        await nc.flush().catch(() => {});
      }
      local.clear();
      await connector.close();
    },
  };
  return registry;
}

/** The Go `registry.Result` a `get` query carries: `{"Service":{"name":...,...},"Action":"get"}`. */
function queryFor(name: string): Record<string, unknown> {
  return { Service: serviceToGo({ name, version: "", endpoints: [], nodes: [] }), Action: "get" };
}

function toEvent(m: Msg): RegistryEvent | undefined {
  let r: { Service?: unknown; Action?: unknown };
  try {
    r = m.json();
  } catch {
    return undefined;
  }
  if (r === null || typeof r !== "object" || typeof r.Action !== "string" || !ACTIONS.has(r.Action)) {
    return undefined;
  }
  if (r.Service === null || typeof r.Service !== "object") return undefined;
  const service = serviceFromGo(r.Service);
  if (!service.name) return undefined;
  return { action: r.Action as RegistryAction, service, timestamp: Date.now() };
}
