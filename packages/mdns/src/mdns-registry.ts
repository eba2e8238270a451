import type { RemoteInfo, Socket } from "node:dgram";
import type {
  IoOptions,
  RegisterOptions,
  Registry,
  ServiceRecord,
  Watcher,
  WatchOptions,
} from "@microts/core";
import { createWatcher, MicroError } from "@microts/core";
import { deadlineSignal, raceSignal, sleep } from "@microts/core/internal";
import { tryDecodeMessage } from "./dns/dns-decode.js";
import { encodeMessage } from "./dns/dns-encode.js";
import { type DnsMessage, Flag, RRType, sameName } from "./dns/dns-types.js";
import { EntryCollector, entryAddress, type FoundEntry } from "./entries.js";
import { ID, type MdnsRegistryOptions, resolveOptions } from "./options.js";
import { acceptSource, closeSocket, openMulticastSocket, openQuerySocket, send } from "./sockets.js";
import { decodeTxt } from "./txt.js";
import { watchListener } from "./watch-listener.js";
import { answer, names, response, sameEntry, serviceRecords, toEntries, type ZoneEntry } from "./zone.js";

interface NodeState {
  entry: ZoneEntry;
  timers: Set<NodeJS.Timeout>;
}

/**
 * A registry on multicast DNS, wire-compatible with Go Micro's default `mdns` registry: each node
 * is the DNS-SD instance `<node id>.<service>.micro.` whose TXT record carries Go's
 * hex(zlib(JSON)) payload, and each service is listed under `_services.micro.`.
 *
 * - `register` answers queries for the nodes from now on and announces them by multicast (3
 *   times: at once, after 1 s and after 3 s). Node addresses must be IP literals (else 400).
 *   `ttlMs` is ignored: records carry a 120 s DNS TTL but nothing expires while this registry
 *   runs, as in Go; a crashed process simply stops answering.
 * - `deregister` and `close` send goodbyes (the records with TTL 0).
 * - `getService`/`listServices` multicast a question and collect answers for `timeoutMs`
 *   (default 200 ms), so they always take that long; 404 when nobody answered.
 * - `watch` reports announcements (`create`, `update` when a node's record changed) and goodbyes
 *   (`delete`) heard by multicast. Nodes that vanish without a goodbye are never reported.
 *
 * All registries of one process share nothing; each opens one UDP socket on port 5353
 * (SO_REUSEADDR, shared with other processes and Go peers) and one ephemeral socket for queries.
 * By default everything is sent on loopback (`interface: "127.0.0.1"`), see the README.
 */
export function createMdnsRegistry(options: MdnsRegistryOptions = {}): Registry & AsyncDisposable {
  const cfg = resolveOptions(options);
  const socketConfig = { group: cfg.group, port: cfg.port, iface: cfg.iface };
  const n = names(cfg.domain);
  const zone = new Map<string, NodeState>(); // key: instance name, lower case
  const queryListeners = new Set<(m: DnsMessage) => void>();
  const watchListeners = new Set<(m: DnsMessage) => void>();
  const watchers = new Set<Watcher>();
  const lifetime = new AbortController();
  let multicast: Promise<Socket> | undefined;
  let querier: Promise<Socket> | undefined;
  let closing: Promise<void> | undefined;

  const handle = (fromMulticast: boolean) => (bytes: Uint8Array, from: RemoteInfo) => {
    if (lifetime.signal.aborted || !acceptSource(socketConfig, from.address)) return;
    const message = tryDecodeMessage(bytes);
    if (!message) return; // not DNS: ignore, as every mDNS stack does
    try {
      if ((message.flags & Flag.Response) === 0) {
        if (fromMulticast) respond(message, from).catch(() => {});
        return;
      }
      for (const l of queryListeners) l(message);
      if (fromMulticast) for (const l of watchListeners) l(message);
    } catch {
      // A listener bug must never take the socket (or the process) down.
    }
  };

  const ensureMulticast = (): Promise<Socket> => {
    if (lifetime.signal.aborted) return Promise.reject(closedError());
    multicast ??= openMulticastSocket(socketConfig, handle(true)).catch((err: unknown) => {
      multicast = undefined;
      throw MicroError.serviceUnavailable(ID, `mdns: cannot listen on ${cfg.group}:${cfg.port}: ${err}`, {
        cause: err,
      });
    });
    return multicast.then((s) => {
      updateRef(s);
      return s;
    });
  };
  const ensureQuerier = (): Promise<Socket> => {
    if (lifetime.signal.aborted) return Promise.reject(closedError());
    querier ??= openQuerySocket(socketConfig, handle(false)).then(
      // Never keeps the process alive by itself: a running query has its own timer.
      (s) => {
        s.unref();
        return s;
      },
      (err: unknown) => {
        querier = undefined;
        throw MicroError.serviceUnavailable(ID, `mdns: cannot open a query socket on ${cfg.iface}: ${err}`, {
          cause: err,
        });
      },
    );
    return querier;
  };
  // The shared socket keeps the process alive only while it has work: registrations or watches.
  const updateRef = (s: Socket) => {
    if (zone.size > 0 || watchListeners.size > 0) s.ref();
    else s.unref();
  };
  const refresh = () => void multicast?.then(updateRef, () => {});

  const sendTo = async (message: DnsMessage, port: number, address: string) => {
    const socket = await multicast;
    if (socket) await send(socket, encodeMessage(message), port, address);
  };

  /** Answers a query to its sender's address and port, one message per node, question echoed. */
  const respond = async (query: DnsMessage, from: RemoteInfo) => {
    const opcode = (query.flags >> 11) & 0xf;
    if (opcode !== 0 || (query.flags & 0xf) !== 0 || zone.size === 0) return;
    const entries = [...zone.values()].map((s) => s.entry);
    for (const q of query.questions) {
      const unicast = (q.class & 0x8000) !== 0;
      for (const group of answer(q, entries, { domain: cfg.domain, host: cfg.host, ttl: cfg.ttl })) {
        const reply = response(group, query.questions, unicast ? query.id : 0);
        try {
          await sendTo(reply, from.port, from.address);
        } catch {
          // too large to encode: skip this group
        }
      }
    }
  };

  const announce = (entry: ZoneEntry, ttl: number) =>
    sendTo(response(serviceRecords(entry, ttl), [], 0), cfg.port, cfg.group).catch(() => {});

  const clearTimers = (state: NodeState) => {
    for (const t of state.timers) clearTimeout(t);
    state.timers.clear();
  };

  /** Multicasts a PTR question for `qname` and collects the answers that echo it. */
  const collect = async (qname: string, opts: IoOptions, what: string): Promise<FoundEntry[]> => {
    const caller = [opts.signal, lifetime.signal].filter((s): s is AbortSignal => s !== undefined);
    const window = Math.min(cfg.timeoutMs, opts.timeoutMs ?? Number.POSITIVE_INFINITY);
    const { signal, cleanup } = deadlineSignal(ID, what, AbortSignal.any(caller), undefined);
    const collector = new EntryCollector();
    const listener = (m: DnsMessage) => {
      // Go's rule: only responses whose first question is our query count.
      const q = m.questions[0];
      if (q && sameName(q.name, qname)) collector.add(m);
    };
    queryListeners.add(listener);
    try {
      const socket = await raceSignal(ensureQuerier(), signal, ID, what);
      // Also hear multicast answers on 5353 (best effort: querying works without it).
      await raceSignal(
        ensureMulticast().catch(() => undefined),
        signal,
        ID,
        what,
      );
      const question = { name: qname, type: RRType.PTR, class: 1 };
      const query: DnsMessage = {
        id: Math.floor(Math.random() * 0x10000),
        flags: 0,
        questions: [question],
        answers: [],
        authorities: [],
        additionals: [],
      };
      if (!(await send(socket, encodeMessage(query), cfg.port, cfg.group))) {
        throw MicroError.serviceUnavailable(ID, `${what}: cannot send to ${cfg.group}:${cfg.port}`);
      }
      await sleep(window, signal, ID);
      return collector.complete();
    } finally {
      queryListeners.delete(listener);
      cleanup();
    }
  };

  const ensureOpen = () => {
    if (lifetime.signal.aborted) throw closedError();
  };

  const registry: Registry & AsyncDisposable = {
    name: "mdns",

    async register(service: ServiceRecord, opts: RegisterOptions = {}) {
      ensureOpen();
      const entries = toEntries(service, cfg.domain, cfg.host);
      const { signal, cleanup } = deadlineSignal(ID, "register", opts.signal, opts.timeoutMs);
      try {
        await raceSignal(ensureMulticast(), signal, ID, "register");
        const fresh: ZoneEntry[] = [];
        for (const entry of entries) {
          const key = entry.instance.toLowerCase();
          const old = zone.get(key);
          if (old && sameEntry(old.entry, entry)) continue; // Go: re-registering is a no-op
          if (old) clearTimers(old);
          const state: NodeState = { entry, timers: new Set() };
          zone.set(key, state);
          fresh.push(entry);
          for (const delay of cfg.announceDelaysMs) {
            if (delay <= 0) continue;
            const t = setTimeout(() => {
              state.timers.delete(t);
              void announce(entry, cfg.ttl);
            }, delay);
            t.unref();
            state.timers.add(t);
          }
        }
        refresh();
        if (cfg.announceDelaysMs.some((d) => d <= 0)) {
          await raceSignal(Promise.all(fresh.map((e) => announce(e, cfg.ttl))), signal, ID, "register");
        }
      } finally {
        cleanup();
      }
    },

    async deregister(service: ServiceRecord, opts: IoOptions = {}) {
      ensureOpen();
      const { signal, cleanup } = deadlineSignal(ID, "deregister", opts.signal, opts.timeoutMs);
      try {
        const gone: ZoneEntry[] = [];
        for (const node of service.nodes) {
          const key = n.instance(node.id, service.name).toLowerCase();
          const state = zone.get(key);
          if (!state) continue;
          zone.delete(key);
          clearTimers(state);
          gone.push(state.entry);
        }
        refresh();
        await raceSignal(Promise.all(gone.map((e) => announce(e, 0))), signal, ID, "deregister");
      } finally {
        cleanup();
      }
    },

    async getService(name: string, opts: IoOptions = {}) {
      ensureOpen();
      const found = await collect(n.service(name), opts, "getService");
      const suffix = `.${n.service(name)}`.toLowerCase();
      const versions = new Map<string, ServiceRecord>();
      for (const e of found) {
        const txt = e.ttl === 0 ? undefined : decodeTxt(e.txt ?? []);
        if (!txt || txt.service !== name || !e.name.toLowerCase().endsWith(suffix)) continue;
        const id = e.name.slice(0, e.name.length - suffix.length);
        let s = versions.get(txt.version);
        if (!s) {
          s = { name, version: txt.version, endpoints: txt.endpoints, nodes: [] };
          versions.set(txt.version, s);
        }
        if (s.nodes.some((x) => x.id === id)) continue;
        s.nodes.push({ id, address: entryAddress(e), metadata: txt.metadata });
      }
      if (versions.size === 0) throw MicroError.notFound(ID, `service ${name}: not found`);
      return [...versions.values()];
    },

    async listServices(opts: IoOptions = {}) {
      ensureOpen();
      const found = await collect(n.services, opts, "listServices");
      const suffix = `.${n.services}`.toLowerCase();
      const seen = new Set<string>();
      for (const e of found) {
        if (e.ttl === 0 || !e.name.toLowerCase().endsWith(suffix)) continue;
        seen.add(e.name.slice(0, e.name.length - suffix.length));
      }
      return [...seen].sort().map((name) => ({ name, version: "", endpoints: [], nodes: [] }));
    },

    watch(opts: WatchOptions = {}): Watcher {
      if (lifetime.signal.aborted) {
        const w = createWatcher(() => () => {});
        w.stop();
        return w;
      }
      let stopped = false;
      let watcher: Watcher | undefined;
      watcher = createWatcher((push) => {
        const listener = watchListener(cfg.domain, opts.service, push);
        watchListeners.add(listener);
        return () => {
          stopped = true; // may run inside createWatcher (signal already aborted)
          watchListeners.delete(listener);
          if (watcher) watchers.delete(watcher);
          refresh();
        };
      }, opts.signal);
      if (stopped) return watcher;
      watchers.add(watcher);
      // A watch without the shared socket would hear nothing: end it rather than hang.
      const w = watcher;
      ensureMulticast().catch(() => w.stop());
      return watcher;
    },

    close() {
      closing ??= (async () => {
        lifetime.abort(closedError());
        for (const w of [...watchers]) w.stop();
        const states = [...zone.values()];
        zone.clear();
        for (const s of states) clearTimers(s);
        await Promise.all(states.map((s) => announce(s.entry, 0)));
        const sockets = await Promise.allSettled([multicast, querier]);
        for (const r of sockets) if (r.status === "fulfilled" && r.value) await closeSocket(r.value);
      })();
      return closing;
    },

    [Symbol.asyncDispose]() {
      return registry.close();
    },
  };
  return registry;
}

function closedError(): MicroError {
  return MicroError.serviceUnavailable(ID, "mdns registry closed");
}
