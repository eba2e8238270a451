import type { BrokerEvent, BrokerHandler, IoOptions, SubscribeOptions } from "@microts/core";
import { decodeMessageEnvelope, MicroError } from "@microts/core";
import { runHandler, sleep, unlessInsideHandler } from "@microts/core/internal";
import type { Redis } from "ioredis";
import { ID, isNoGroup, toMicroError, withDeadline } from "./io.js";
import {
  field,
  parseAutoClaimReply,
  parsePendingCounts,
  parseReadReply,
  type StreamEntry,
} from "./replies.js";

/** What a queue subscriber needs from its broker. */
export interface StreamConsumerConfig {
  topic: string;
  /** The stream key: `<streamPrefix><topic>`. */
  key: string;
  group: string;
  /** Unique consumer name within the group. */
  consumer: string;
  handler: BrokerHandler;
  options: SubscribeOptions;
  /** The broker's shared command connection (XACK, XAUTOCLAIM, XPENDING, CLIENT UNBLOCK). */
  cmd: Redis;
  /** A new connection for this consumer's blocking XREADGROUP. */
  blocking: Redis;
  claimIdleMs: number;
  blockMs: number;
  batch: number;
  timeoutMs: number;
}

/** A running queue subscriber. */
export interface StreamConsumer {
  /** Creates the group when missing, connects the blocking connection, starts the reader loop. */
  start(io?: IoOptions): Promise<void>;
  /**
   * Stops reading; waits for the in-flight handler; deletes the consumer when it owns no pending
   * entry. Called by the in-flight handler itself, it resolves at once and the rest follows once
   * that handler has returned.
   */
  stop(): Promise<void>;
}

/**
 * One member of a Redis Streams consumer group. The reader loop alternates XAUTOCLAIM (entries idle
 * longer than `claimIdleMs`, from dead consumers or nacked) with XREADGROUP `>` BLOCK on a dedicated
 * connection, and hands entries to the handler one at a time, in stream order. Automatic acks go
 * out without holding up the next entry; `stop` waits for them.
 */
export function createStreamConsumer(cfg: StreamConsumerConfig): StreamConsumer {
  const { cmd, blocking, key, group, consumer, topic, options } = cfg;
  const autoAck = options.autoAck !== false;
  // Reclaim at least twice per claimIdleMs so a dead consumer's entries wait at most ~1.5 × claimIdleMs.
  const claimEveryMs = Math.max(50, Math.floor(cfg.claimIdleMs / 2));
  let active = false;
  let reading = false;
  let blockingId: number | undefined;
  let loop: Promise<void> = Promise.resolve();
  const self = {};

  const report = (err: unknown) => {
    try {
      options.onError?.(err);
    } catch {
      // a throwing onError must not kill the reader loop
    }
  };

  const ensureGroup = async () => {
    try {
      // New groups start at "$": a queue group receives what is published after it first subscribed,
      // as with NATS queue groups and RabbitMQ queues; history stays out of it.
      await cmd.call("XGROUP", "CREATE", key, group, "$", "MKSTREAM");
    } catch (err) {
      if (!(err instanceof Error && err.message.startsWith("BUSYGROUP"))) throw err;
    }
  };

  const ack = (id: string) =>
    withDeadline(`ack ${topic}`, undefined, cfg.timeoutMs, () => cmd.call("XACK", key, group, id)).then(
      () => {},
    );
  /** Acks sent but not yet answered: the next entry does not wait for them; `stop` does. */
  const acking = new Set<Promise<void>>();
  /**
   * An ack that the next delivery need not wait for. If it fails, the entry stays pending and is
   * redelivered after `claimIdleMs`, as after a crash: the guarantee stays at-least-once.
   */
  const ackLater = (id: string) => {
    const p: Promise<void> = ack(id).then(
      () => void acking.delete(p),
      (err: unknown) => {
        acking.delete(p);
        report(err);
      },
    );
    acking.add(p);
  };

  const deliver = async (entry: StreamEntry, deliveries: number) => {
    if (entry.fields === null) {
      // Trimmed by MAXLEN while pending: nothing to deliver, drop it from the pending list.
      await ack(entry.id);
      return;
    }
    const raw = field(entry.fields, "m");
    let message: ReturnType<typeof decodeMessageEnvelope>;
    try {
      if (raw === undefined) throw MicroError.badRequest(ID, `stream entry ${entry.id} has no field "m"`);
      message = decodeMessageEnvelope(raw);
    } catch (err) {
      // A poison entry would be reclaimed forever: ack it away, then report it (so that once
      // the error is heard of, the entry is no longer pending).
      await ack(entry.id).finally(() => report(err));
      return;
    }
    let settled = false;
    const settle = async (doAck: boolean) => {
      if (settled) return;
      settled = true;
      // nack(requeue) leaves the entry pending: XAUTOCLAIM hands it out again after claimIdleMs.
      if (doAck) await ack(entry.id);
    };
    const event: BrokerEvent = {
      topic,
      message,
      redelivered: Math.max(0, deliveries - 1),
      ack: () => settle(true),
      nack: (requeue = true) => settle(!requeue),
    };
    try {
      await runHandler(self, () => cfg.handler(event));
      if (autoAck && !settled) {
        // Auto-ack: the next entry is handled while this XACK travels (commands of one turn
        // share a write), instead of one round trip to Redis per entry.
        settled = true;
        ackLater(entry.id);
      }
    } catch (err) {
      report(err);
      if (autoAck) await event.nack(true).catch(report);
    }
  };

  const reclaim = async () => {
    let cursor = "0-0";
    for (let round = 0; round < 16 && active; round++) {
      const reply = await withDeadline(`reclaim ${topic}`, undefined, cfg.timeoutMs, () =>
        cmd.call("XAUTOCLAIM", key, group, consumer, cfg.claimIdleMs, cursor, "COUNT", cfg.batch),
      );
      const claimed = parseAutoClaimReply(reply);
      cursor = claimed.cursor;
      const live = claimed.entries.filter((e) => e.fields !== null);
      let counts = new Map<string, number>();
      if (live.length > 0) {
        const first = live[0]?.id ?? "-";
        const last = live[live.length - 1]?.id ?? "+";
        counts = parsePendingCounts(
          await withDeadline(`pending ${topic}`, undefined, cfg.timeoutMs, () =>
            cmd.call("XPENDING", key, group, first, last, live.length, consumer),
          ),
        );
      }
      for (const e of claimed.entries) {
        if (!active) return;
        await deliver(e, counts.get(e.id) ?? 2);
      }
      if (cursor === "0-0") return;
    }
  };

  const run = async () => {
    let lastClaim = 0;
    let backoff = 100;
    while (active) {
      try {
        if (Date.now() - lastClaim >= claimEveryMs) {
          lastClaim = Date.now();
          await reclaim();
          if (!active) break;
        }
        if (blockingId === undefined) blockingId = Number(await blocking.call("CLIENT", "ID"));
        const blockFor = Math.max(1, Math.min(cfg.blockMs, claimEveryMs - (Date.now() - lastClaim)));
        reading = true;
        let reply: unknown;
        try {
          reply = await blocking.call(
            "XREADGROUP",
            "GROUP",
            group,
            consumer,
            "COUNT",
            cfg.batch,
            "BLOCK",
            blockFor,
            "STREAMS",
            key,
            ">",
          );
        } finally {
          reading = false;
        }
        for (const e of parseReadReply(reply)) {
          // Entries read but not handled after unsubscribe stay pending; another member reclaims them.
          if (!active) break;
          await deliver(e, 1);
        }
        backoff = 100;
      } catch (err) {
        if (!active) break;
        if (isNoGroup(err)) {
          // The server lost the stream (restart without persistence, FLUSHALL): recreate and go on.
          await ensureGroup().catch(() => {});
          continue;
        }
        report(toMicroError(err, `subscribe ${topic}`));
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 2_000);
      }
    }
  };

  return {
    async start(io) {
      await withDeadline(`subscribe ${topic}`, io, cfg.timeoutMs, async () => {
        await ensureGroup();
        if (blocking.status === "wait") await blocking.connect();
        blockingId = Number(await blocking.call("CLIENT", "ID"));
      });
      // After a reconnect the connection has a new id; the loop fetches it before its next read.
      blocking.on("ready", () => {
        blockingId = undefined;
      });
      active = true;
      loop = run();
    },
    async stop() {
      if (!active) {
        blocking.disconnect();
        return;
      }
      active = false;
      await unlessInsideHandler(self, finish());
    },
  };

  /** The rest of `stop`: ends the reader loop, waits for the handler and the acks, forgets the consumer. */
  async function finish(): Promise<void> {
    let finished = false;
    const done = loop.then(() => {
      finished = true;
    });
    // Wake the blocked XREADGROUP (it returns as a timeout, so no entry is lost); if the id is stale
    // after a reconnect, drop the connection after 500 ms instead.
    const giveUpAt = Date.now() + 500;
    while (!finished) {
      if (reading) {
        if (Date.now() > giveUpAt || blockingId === undefined) blocking.disconnect();
        else cmd.call("CLIENT", "UNBLOCK", blockingId, "TIMEOUT").catch(() => {});
      }
      await Promise.race([done, sleep(50)]);
    }
    blocking.disconnect();
    await Promise.allSettled([...acking]);
    // Forget this consumer unless it still owns pending entries (deleting it would drop them).
    try {
      const summary = await withDeadline(`unsubscribe ${topic}`, undefined, 2_000, () =>
        cmd.call("XPENDING", key, group, "-", "+", 1, consumer),
      );
      if (Array.isArray(summary) && summary.length === 0) {
        await withDeadline(`unsubscribe ${topic}`, undefined, 2_000, () =>
          cmd.call("XGROUP", "DELCONSUMER", key, group, consumer),
        );
      }
    } catch {
      // best effort: an idle consumer with nothing pending is harmless
    }
  }
}
