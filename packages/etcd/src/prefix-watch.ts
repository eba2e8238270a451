import type { Logger, RegistryAction } from "@microts/core";
import { AsyncQueue, deferred, sleep } from "@microts/core/internal";
import type { EtcdClient } from "./etcd-client.js";
import { decodeHeader, decodeKv, grpcError, type Json } from "./gateway-json.js";
import { b64, prefixEnd } from "./keys.js";

/** One change under the watched prefix. For `delete`, `value` is the value the key had. */
export interface PrefixChange {
  action: RegistryAction;
  key: string;
  value: string;
}

/** A running prefix watch. */
export interface PrefixWatch {
  /** Resolves once the first watch is established (or the first attempt failed). */
  readonly ready: Promise<void>;
  stop(): void;
}

const MIN_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 2000;

/**
 * Watches every key under `prefix` and reports changes from now on, surviving lost connections
 * and etcd restarts.
 *
 * Each connection: open a watch (with `prev_kv`), take the revision R etcd created it at, read
 * the prefix at exactly R, then apply the streamed events (all > R). On the first connection
 * that snapshot only fills the local cache; on every reconnection the snapshot is compared with
 * the cache and the differences are reported (new key → create, changed value → update, missing
 * key → delete). So nothing is lost across a restart, a compaction, or even a wiped etcd (where
 * resuming "from the last revision" would silently miss events); intermediate states during the
 * outage are collapsed into one change per key. Reconnects back off from 100 ms to 2 s.
 */
export function startPrefixWatch(
  client: EtcdClient,
  prefix: string,
  onChange: (c: PrefixChange) => void,
  logger: Logger,
): PrefixWatch {
  const stopper = new AbortController();
  const ready = deferred<void>();
  const start = Buffer.from(prefix, "utf8");
  const end = prefixEnd(start);
  let cache: Map<string, string> | undefined;

  const resync = async (revision: number, signal: AbortSignal) => {
    const { kvs } = await client.range(start, end, { revision }, { signal });
    const next = new Map(kvs.map((kv) => [kv.key, kv.value] as const));
    const prev = cache;
    cache = next;
    if (!prev) return; // first connection: the watch reports changes from now on
    for (const [key, value] of next) {
      const old = prev.get(key);
      if (old === undefined) onChange({ action: "create", key, value });
      else if (old !== value) onChange({ action: "update", key, value });
    }
    for (const [key, value] of prev) if (!next.has(key)) onChange({ action: "delete", key, value });
  };

  const apply = (ev: Json) => {
    const kv = decodeKv((ev.kv ?? {}) as Json);
    if (ev.type === "DELETE") {
      const prevValue = ev.prev_kv ? decodeKv(ev.prev_kv as Json).value : cache?.get(kv.key);
      cache?.delete(kv.key);
      // Go skips a delete whose previous value is unknown; so do we.
      if (prevValue) onChange({ action: "delete", key: kv.key, value: prevValue });
      return;
    }
    cache?.set(kv.key, kv.value);
    onChange({
      action: kv.createRevision === kv.modRevision ? "create" : "update",
      key: kv.key,
      value: kv.value,
    });
  };

  const connect = async (): Promise<void> => {
    const conn = new AbortController();
    const onStop = () => conn.abort(stopper.signal.reason);
    stopper.signal.addEventListener("abort", onStop, { once: true });
    const messages = new AsyncQueue<Json>();
    try {
      await client.openWatch(
        { create_request: { key: b64(start), range_end: b64(end), prev_kv: true } },
        (m) => messages.push(m),
        (err) => (err === undefined ? messages.end() : messages.fail(err)),
        conn.signal,
      );
      for await (const msg of messages) {
        if (msg.error !== undefined) {
          const e = (msg.error ?? {}) as Json;
          throw grpcError(Number(e.code ?? 2), `etcd watch: ${String(e.message ?? "error")}`);
        }
        const r = (msg.result ?? {}) as Json;
        if (r.created) {
          const revision = decodeHeader(r.header).revision;
          ready.resolve();
          await resync(revision, conn.signal);
          continue;
        }
        if (r.canceled) throw grpcError(14, `etcd watch canceled: ${String(r.cancel_reason ?? "")}`);
        if (Array.isArray(r.events)) for (const ev of r.events as Json[]) apply(ev);
      }
    } finally {
      stopper.signal.removeEventListener("abort", onStop);
      conn.abort();
    }
  };

  void (async () => {
    let backoff = MIN_BACKOFF_MS;
    while (!stopper.signal.aborted) {
      const began = Date.now();
      try {
        await connect();
      } catch (e) {
        if (stopper.signal.aborted) break;
        logger.debug("etcd watch: connection failed, retrying", { prefix, error: e });
      }
      ready.resolve();
      if (stopper.signal.aborted) break;
      // A connection that lived a while was healthy: start over with a short delay.
      if (Date.now() - began > 5000) backoff = MIN_BACKOFF_MS;
      await sleep(backoff, stopper.signal).catch(() => {});
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    }
  })();

  return {
    ready: ready.promise,
    stop() {
      stopper.abort();
      ready.resolve();
    },
  };
}
