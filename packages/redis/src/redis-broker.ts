import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type {
  Broker,
  BrokerHandler,
  BrokerMessage,
  BrokerPublishOptions,
  IoOptions,
  SubscribeOptions,
  Subscriber,
} from "@microts/core";
import { encodeMessageEnvelope, MicroError } from "@microts/core";
import type { Redis, RedisOptions } from "ioredis";
import { ID, toMicroError, withDeadline } from "./io.js";
import { createPubSubSubscriber, type PubSubSubscriber } from "./pubsub-subscriber.js";
import { createStreamConsumer } from "./stream-consumer.js";

/**
 * `publish` in one atomic step: XADD to the topic's stream when it exists (a queue group created it
 * with MKSTREAM, and a group only ever reads entries added after it was created), then PUBLISH.
 * KEYS[1] stream key; ARGV envelope, MAXLEN (0: no trim), channel. Runs as EVALSHA after the first call.
 */
const PUBLISH_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 1 then
  if ARGV[2] == '0' then
    redis.call('XADD', KEYS[1], '*', 'm', ARGV[1])
  else
    redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'm', ARGV[1])
  end
end
return redis.call('PUBLISH', ARGV[3], ARGV[1])
`;

/** The command connection with the publish script defined on it. */
type PublishingRedis = Redis & {
  micropublish(key: string, envelope: Buffer, maxLen: string, channel: string): Promise<number>;
};

/** Options for {@link createRedisBroker}. */
export interface RedisBrokerOptions {
  /** `redis://[user:pass@]host:port[/db]`, `rediss://...` or `host:port`. Default "redis://127.0.0.1:6379". */
  address?: string;
  /** Key prefix of the per-topic streams used by queue groups. Default "micro:stream:". */
  streamPrefix?: string;
  /**
   * Approximate cap on entries per stream (`XADD ... MAXLEN ~ n`); older entries are trimmed even when
   * a group has not read them yet. 0 disables trimming. Default 100 000 entries.
   */
  maxLen?: number;
  /**
   * A pending (delivered, unacked) queue entry idle for this long is handed to another live member of
   * its group (XAUTOCLAIM): the redelivery delay after a crash or a nack. Milliseconds, default 30 000.
   */
  claimIdleMs?: number;
  /** Longest single XREADGROUP BLOCK, in milliseconds. Default 5 000. */
  blockMs?: number;
  /** Entries fetched per XREADGROUP / XAUTOCLAIM. Default 64. */
  batch?: number;
  /** Messages buffered per broadcast subscriber before new ones are dropped. Default 10 000. */
  bufferSize?: number;
  /** Deadline of connect, publish, subscribe and ack when the caller gives none, in ms. Default 10 000. */
  timeoutMs?: number;
  /**
   * Extra ioredis options (TLS, password, retryStrategy...). `lazyConnect`, `protocol`,
   * `maxRetriesPerRequest` and `enableAutoPipelining` are ours (the command connection pipelines).
   */
  redisOptions?: RedisOptions;
}

/**
 * A Go Micro style broker on Redis (name "redis"). Broadcast subscribers use plain pub/sub on channel =
 * topic (at-most-once). Queue subscribers use Streams: one stream `<streamPrefix><topic>`, one consumer
 * group per queue name, one consumer (with its own blocking connection) per subscriber (at-least-once).
 * `publish` does both, atomically (one Lua script): XADD (MAXLEN ~ maxLen) when the topic's stream
 * exists, i.e. a queue group was ever created on it, and PUBLISH, so it reaches both kinds; it
 * resolves once Redis has stored the entry. The payload is Go Micro's broker envelope
 * `{"Header":{...},"Body":"<base64>"}` in both places (stream field `m`).
 */
export function createRedisBroker(options: RedisBrokerOptions = {}): Broker {
  const url = normalizeAddress(options.address ?? "redis://127.0.0.1:6379");
  const streamPrefix = options.streamPrefix ?? "micro:stream:";
  const maxLen = options.maxLen ?? 100_000;
  const claimIdleMs = options.claimIdleMs ?? 30_000;
  const blockMs = options.blockMs ?? 5_000;
  const batch = Math.max(1, options.batch ?? 64);
  const bufferSize = options.bufferSize ?? 10_000;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const baseOptions: RedisOptions = {
    ...options.redisOptions,
    lazyConnect: true,
    // RESP2: XREADGROUP reply shapes differ between RESP2 and ioredis 6's RESP3 default.
    protocol: 2,
    // Commands wait for a reconnect; every call is bounded by our own deadline instead.
    maxRetriesPerRequest: null,
    // Only the command connection pipelines (below); duplicates would inherit it otherwise.
    enableAutoPipelining: false,
  };

  let cmd: Redis | undefined;
  let opening: Promise<Redis> | undefined;
  let subConn: Redis | undefined;
  let subConnReady: Promise<void> | undefined;
  const broadcast = new Map<string, Set<PubSubSubscriber>>();

  const quiet = (r: Redis) => {
    // ioredis reconnects on its own; errors here are connection noise, reported through calls.
    r.on("error", () => {});
    return r;
  };

  const maxLenArg = String(Math.max(0, maxLen));

  const open = async (): Promise<Redis> => {
    const Client = await loadRedis();
    // Commands issued in one event-loop turn (publishes, acks) leave in one write.
    const r = quiet(new Client(url, { ...baseOptions, enableAutoPipelining: true }));
    r.defineCommand("micropublish", { numberOfKeys: 1, lua: PUBLISH_SCRIPT });
    try {
      await r.connect();
    } catch (err) {
      r.disconnect();
      throw toMicroError(err, `connect ${redact(url)}`);
    }
    return r;
  };

  const ensure = (io?: IoOptions): Promise<Redis> => {
    if (!opening) {
      const p = open();
      opening = p;
      p.then(
        (r) => {
          if (opening === p) cmd = r;
        },
        () => {
          if (opening === p) opening = undefined;
        },
      );
    }
    const p = opening;
    return withDeadline(`connect ${redact(url)}`, io, timeoutMs, () => p);
  };

  const ensureSubConn = async (c: Redis, io?: IoOptions): Promise<Redis> => {
    if (!subConn) {
      const s = quiet(c.duplicate(baseOptions));
      s.on("messageBuffer", (channel: Buffer, message: Buffer) => {
        for (const sub of broadcast.get(channel.toString()) ?? []) sub.push(message);
      });
      subConn = s;
      subConnReady = s.connect().catch((err: unknown) => {
        // Forget a connection that never came up so the next subscribe tries afresh.
        if (subConn === s) {
          subConn = undefined;
          subConnReady = undefined;
        }
        s.disconnect();
        throw err;
      });
    }
    const s = subConn;
    const ready = subConnReady;
    await withDeadline("connect pub/sub", io, timeoutMs, async () => ready);
    return s;
  };

  const subscribeBroadcast = async (
    c: Redis,
    topic: string,
    handler: BrokerHandler,
    opts: SubscribeOptions,
    io?: IoOptions,
  ): Promise<() => Promise<void>> => {
    const s = await ensureSubConn(c, io);
    const sub = createPubSubSubscriber(topic, handler, opts, bufferSize);
    let set = broadcast.get(topic);
    if (!set) {
      set = new Set();
      broadcast.set(topic, set);
    }
    set.add(sub);
    try {
      // Also for later subscribers: resolves once the server confirmed, so publishes after this arrive.
      await withDeadline(`subscribe ${topic}`, io, timeoutMs, () => s.subscribe(topic));
    } catch (err) {
      set.delete(sub);
      await sub.stop();
      throw err;
    }
    return async () => {
      const current = broadcast.get(topic);
      if (current?.delete(sub) && current.size === 0) {
        broadcast.delete(topic);
        await s.unsubscribe(topic).catch(() => {});
      }
      await sub.stop();
    };
  };

  const subscribeQueue = async (
    c: Redis,
    topic: string,
    queue: string,
    handler: BrokerHandler,
    opts: SubscribeOptions,
    io?: IoOptions,
  ): Promise<() => Promise<void>> => {
    const consumerName = `${hostname()}-${process.pid}-${randomBytes(4).toString("hex")}`;
    const blocking = quiet(c.duplicate({ ...baseOptions, connectionName: `microts:${consumerName}` }));
    const consumer = createStreamConsumer({
      topic,
      key: streamPrefix + topic,
      group: queue,
      consumer: consumerName,
      handler,
      options: opts,
      cmd: c,
      blocking,
      claimIdleMs,
      blockMs,
      batch,
      timeoutMs,
    });
    try {
      await consumer.start(io);
    } catch (err) {
      await consumer.stop();
      throw err;
    }
    return () => consumer.stop();
  };

  const unsubscribers = new Set<() => Promise<void>>();

  return {
    name: "redis",
    get address() {
      return cmd ? redact(url) : "";
    },
    async connect(io) {
      await ensure(io);
    },
    async disconnect(io) {
      const pending = [...unsubscribers];
      unsubscribers.clear();
      await Promise.allSettled(pending.map((u) => u()));
      const opened = opening;
      const conns: Array<Redis | undefined> = [subConn];
      subConn = undefined;
      subConnReady = undefined;
      cmd = undefined;
      opening = undefined;
      // A connect still under way is awaited, so its connection is closed too (no leaked socket).
      if (opened) conns.push(await opened.catch(() => undefined));
      for (const c of conns) {
        if (!c) continue;
        try {
          await withDeadline("disconnect", io, 2_000, () => c.quit());
        } catch {
          // quit did not finish in time: close hard
        }
        c.disconnect();
      }
    },
    async publish(topic: string, message: BrokerMessage, io: BrokerPublishOptions = {}) {
      if (!topic) throw MicroError.badRequest(ID, "publish: topic is required");
      const c = cmd ?? (await ensure(io));
      const bytes = encodeMessageEnvelope(message);
      const envelope = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      await withDeadline(`publish ${topic}`, io, timeoutMs, () =>
        (c as PublishingRedis).micropublish(streamPrefix + topic, envelope, maxLenArg, topic),
      );
    },
    async subscribe(topic: string, handler: BrokerHandler, opts: SubscribeOptions = {}): Promise<Subscriber> {
      if (!topic) throw MicroError.badRequest(ID, "subscribe: topic is required");
      const c = await ensure();
      const options = { ...opts };
      const stop = options.queue
        ? await subscribeQueue(c, topic, options.queue, handler, options)
        : await subscribeBroadcast(c, topic, handler, options);
      let closing: Promise<void> | undefined;
      const unsubscribe = () => {
        if (!closing) {
          unsubscribers.delete(unsubscribe);
          closing = stop();
        }
        return closing;
      };
      unsubscribers.add(unsubscribe);
      return { topic, options, unsubscribe, [Symbol.asyncDispose]: unsubscribe };
    },
  };
}

/**
 * ioredis, loaded at the first connect rather than with this module. Loading it makes every string
 * method call in the process slower (under Node 20 its RESP decoder's `class … extends String`
 * turns `String.prototype` into a slow, dictionary-mode object: a loop of `charCodeAt` ran 4×
 * slower), so a program that merely imports this package, or picks another broker by
 * configuration, does not pay for it.
 */
async function loadRedis(): Promise<typeof Redis> {
  return (await import("ioredis")).Redis;
}

/** `host:port` → `redis://host:port`; URLs pass through. */
function normalizeAddress(address: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(address) ? address : `redis://${address}`;
}

/** The URL without its password, for `address` and error details. */
function redact(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, "//$1:***@");
}
