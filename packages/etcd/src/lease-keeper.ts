import type { IoOptions, Logger } from "@microts/core";
import { MicroError } from "@microts/core";
import type { EtcdClient } from "./etcd-client.js";

/** What the registry wrote for one node key, and the lease keeping it alive. */
interface Entry {
  key: string;
  value: string;
  /** Lease TTL in seconds; 0: no lease. */
  ttlSec: number;
  /** The lease the key is attached to ("" without TTL). */
  lease: string;
  /** The lease is known to be gone: the next tick grants a new one and writes the key again. */
  lost: boolean;
  removed: boolean;
  timer: NodeJS.Timeout | undefined;
}

/** Keeps node keys written with their leases alive, and writes them again when a lease is lost. */
export interface LeaseKeeper {
  /**
   * Writes `key` = `value` with a lease of `ttlSec` seconds (0: no lease) unless the same value
   * is already there with a live lease (Go Micro's "hash unchanged and lease alive: no write").
   */
  put(key: string, value: string, ttlSec: number, io: IoOptions): Promise<void>;
  /** Stops keeping `key`, deletes it and revokes its lease. */
  remove(key: string, io: IoOptions): Promise<void>;
  /** Stops every keep-alive; the keys stay until their leases expire. */
  close(): void;
}

/** Delay before retrying after etcd could not be reached, in milliseconds (at most TTL/3). */
const RETRY_MS = 1000;

/**
 * Per key: a lease refreshed every TTL/3 (as etcd's Go client does). A refresh that reports the
 * lease gone (TTL ≤ 0 or "lease not found": it expired while we could not reach etcd, was
 * revoked, or etcd lost its data) makes the keeper grant a new lease and put the key again. A
 * refresh that cannot reach etcd is retried every second. Operations on one key never overlap.
 * With `keepAlive` false nothing runs in the background: only `put` refreshes (or replaces) a lease.
 */
export function createLeaseKeeper(client: EtcdClient, logger: Logger, keepAlive: boolean): LeaseKeeper {
  const entries = new Map<string, Entry>();
  const locks = new Map<string, Promise<unknown>>();
  let closed = false;

  /** Runs `fn` after every earlier operation on `key` finished. */
  const serial = <T>(key: string, fn: () => Promise<T>): Promise<T> => {
    const prev = locks.get(key) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => {});
    locks.set(key, tail);
    void tail.then(() => {
      if (locks.get(key) === tail) locks.delete(key);
    });
    return run;
  };

  const schedule = (e: Entry, delayMs?: number) => {
    clearTimeout(e.timer);
    e.timer = undefined;
    if (closed || e.removed || e.ttlSec === 0 || !keepAlive) return;
    const interval = Math.max(200, (e.ttlSec * 1000) / 3);
    e.timer = setTimeout(() => void serial(e.key, () => tick(e)), delayMs ?? interval);
    e.timer.unref();
  };

  /** Writes the entry with a fresh lease (when it has a TTL); revokes the lease it replaces. */
  const write = async (e: Entry, io: IoOptions) => {
    const lease = e.ttlSec > 0 ? await client.grant(e.ttlSec, io) : "";
    try {
      await client.put(e.key, e.value, lease || undefined, io);
    } catch (err) {
      if (lease) void client.revoke(lease).catch(() => {});
      throw err;
    }
    const old = e.lease;
    e.lease = lease;
    e.lost = false;
    if (old && old !== lease) void client.revoke(old).catch(() => {});
  };

  const tick = async (e: Entry) => {
    if (closed || e.removed) return;
    const interval = Math.max(200, (e.ttlSec * 1000) / 3);
    try {
      if (!e.lost) {
        const ttl = await client.keepAlive(e.lease).catch((err: unknown) => {
          if (err instanceof MicroError && err.code === 404) return 0;
          throw err;
        });
        if (ttl > 0) return schedule(e);
        e.lost = true;
        logger.warn("etcd registry: lease lost, registering again", { key: e.key, lease: e.lease });
      }
      if (closed || e.removed) return;
      await write(e, {});
      logger.info("etcd registry: registered again with a new lease", { key: e.key, lease: e.lease });
      schedule(e);
    } catch (err) {
      logger.debug("etcd registry: keep-alive failed, retrying", { key: e.key, error: err });
      schedule(e, Math.min(RETRY_MS, interval));
    }
  };

  /**
   * True when the entry's key is in etcd with its value and a live lease (or no lease needed).
   * Refreshes the lease on the way (Go Micro's `KeepAliveOnce` on re-registration).
   */
  const stillThere = async (e: Entry, io: IoOptions): Promise<boolean> => {
    if (e.lost) return false;
    if (e.ttlSec > 0) {
      const ttl = await client.keepAlive(e.lease, io).catch((err: unknown) => {
        if (err instanceof MicroError && err.code === 404) return 0;
        throw err;
      });
      if (ttl <= 0) return false;
      // The lease lives; is our key still attached to it (not deleted behind our back)?
      const { keys } = await client.timeToLive(e.lease, io);
      return keys.includes(e.key);
    }
    const { kvs } = await client.range(e.key, undefined, {}, io);
    return kvs[0]?.value === e.value && !kvs[0].lease;
  };

  return {
    put(key, value, ttlSec, io) {
      return serial(key, async () => {
        const known = entries.get(key);
        if (known && known.value === value && known.ttlSec === ttlSec && (await stillThere(known, io))) {
          return;
        }
        const e: Entry = known ?? {
          key,
          value,
          ttlSec,
          lease: "",
          lost: false,
          removed: false,
          timer: undefined,
        };
        e.value = value;
        e.ttlSec = ttlSec;
        await write(e, io);
        e.removed = false;
        entries.set(key, e);
        schedule(e);
      });
    },

    remove(key, io) {
      return serial(key, async () => {
        const e = entries.get(key);
        if (e) {
          // Stop refreshing first: if the delete fails, the key still expires with its lease.
          e.removed = true;
          clearTimeout(e.timer);
          entries.delete(key);
        }
        await client.deleteRange(key, undefined, io);
        if (e?.lease) await client.revoke(e.lease, io).catch(() => {});
      });
    },

    close() {
      closed = true;
      for (const e of entries.values()) clearTimeout(e.timer);
      entries.clear();
    },
  };
}
