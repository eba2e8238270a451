import type { Logger } from "@microts/core";
import { silentLogger } from "@microts/core";

/** The exchange every publish goes to and every queue is bound to (Go's `DefaultExchange`). */
export interface ExchangeOptions {
  /** Exchange name. Default `"micro"` (Go's default). */
  name?: string;
  /** Exchange type. Default `"topic"` (Go's default): binding keys may use `*` and `#`. */
  type?: "topic" | "direct" | "fanout" | "headers";
  /**
   * Survives a broker restart. Default false, as in Go (`DurableExchange()` turns it on). Bindings
   * to a transient exchange are lost on a restart until subscribers re-bind, so set it to true for
   * durable queue groups that must not lose messages published while subscribers reconnect.
   * RabbitMQ refuses to re-declare an exchange with a different durability (error 409 here).
   */
  durable?: boolean;
}

/** Reconnection back-off: the delay doubles from `initialDelayMs` up to `maxDelayMs`, with ±20 % jitter. */
export interface ReconnectOptions {
  /** First delay after a lost connection or channel, in ms. Default 100 (Go's resubscribe back-off). */
  initialDelayMs?: number;
  /** Largest delay between attempts, in ms. Default 30 000 (Go's). */
  maxDelayMs?: number;
}

/** Options for {@link createRabbitmqBroker}. */
export interface RabbitmqBrokerOptions {
  /**
   * AMQP URL (`amqp://user:pass@host:port/vhost`, `amqps://...`) or `host:port` (then user and
   * password are `guest`). Default `"amqp://guest:guest@127.0.0.1:5672"` (Go's `DefaultRabbitURL`).
   */
  address?: string;
  /** The exchange. Default `{ name: "micro", type: "topic", durable: false }`. */
  exchange?: ExchangeOptions;
  /**
   * Unacknowledged deliveries per subscriber (AMQP `basic.qos` on the subscriber's own channel).
   * Default 0 = unlimited, as in Go: the server pushes the whole backlog into this process. A bound
   * such as 100 is recommended for queue groups, so that a slow member does not hoard messages its
   * peers could process and memory stays bounded.
   */
  prefetch?: number;
  /**
   * Publisher confirms. Default true: `publish` resolves once the broker confirmed the message (for
   * persistent messages on durable queues: once it is on disk); a nack or a lost connection rejects
   * (or retries, see `publish`). False: `publish` resolves once the message is written to the socket,
   * as Go does without `ConfirmPublish`; messages in flight when the connection drops are lost.
   */
  confirmPublish?: boolean;
  /** AMQP heartbeat, in seconds; a dead peer is detected after about two missed beats. Default 10 (Go's). 0 disables. */
  heartbeatSec?: number;
  /** Back-off for reconnecting and re-subscribing. Default `{ initialDelayMs: 100, maxDelayMs: 30_000 }`. */
  reconnect?: ReconnectOptions;
  /**
   * Queue groups (subscribe with `queue`) get a durable, non-auto-delete queue named exactly like the
   * group (Go's `DurableQueue()`). Default true. False: a transient auto-delete queue, Go's default;
   * use false to share a queue a Go service declared without `DurableQueue()`, since RabbitMQ
   * refuses a re-declaration with different properties (error 409 here).
   */
  durableQueues?: boolean;
  /** Publish with delivery mode 2 (persisted to disk in durable queues). Default: `durableQueues`. */
  persistent?: boolean;
  /**
   * With auto-ack, a delivery whose handler throws is nacked with requeue (true, the default, Go's
   * `RequeueOnError()`) or without it (false: dropped, or dead-lettered if the queue has a
   * dead-letter exchange). With requeue, a handler that always throws gets the message forever.
   */
  requeueOnError?: boolean;
  /**
   * Bound for a `publish` called without `timeoutMs`, in ms: how long it may wait for a connection
   * and for the confirm. Default 30 000. When it passes the publish rejects with 503.
   */
  publishTimeoutMs?: number;
  /** Bound for connecting and for declaring a subscription's queue, in ms. Default 10 000. */
  operationTimeoutMs?: number;
  /** Where connection losses and reconnects are logged. Default: silent. */
  logger?: Logger;
}

/** Options with every default applied. */
export interface ResolvedOptions {
  url: string;
  safeAddress: string;
  exchange: Required<ExchangeOptions>;
  prefetch: number;
  confirmPublish: boolean;
  heartbeatSec: number;
  reconnect: Required<ReconnectOptions>;
  durableQueues: boolean;
  persistent: boolean;
  requeueOnError: boolean;
  publishTimeoutMs: number;
  operationTimeoutMs: number;
  logger: Logger;
}

/** Go's `DefaultRabbitURL`. */
export const DEFAULT_ADDRESS = "amqp://guest:guest@127.0.0.1:5672";

/** Turns `host:port` into a URL and adds the heartbeat; returns the URL and a password-free form. */
export function normalizeAddress(address: string, heartbeatSec: number): { url: string; safe: string } {
  const withScheme = address.includes("://") ? address : `amqp://guest:guest@${address}`;
  const u = new URL(withScheme);
  if (!u.searchParams.has("heartbeat")) u.searchParams.set("heartbeat", String(heartbeatSec));
  const safe = new URL(withScheme);
  safe.username = "";
  safe.password = "";
  safe.search = "";
  return { url: u.toString(), safe: safe.toString().replace(/\/$/, "") };
}

export function resolveOptions(options: RabbitmqBrokerOptions): ResolvedOptions {
  const heartbeatSec = options.heartbeatSec ?? 10;
  const { url, safe } = normalizeAddress(options.address ?? DEFAULT_ADDRESS, heartbeatSec);
  const durableQueues = options.durableQueues ?? true;
  return {
    url,
    safeAddress: safe,
    exchange: {
      name: options.exchange?.name ?? "micro",
      type: options.exchange?.type ?? "topic",
      durable: options.exchange?.durable ?? false,
    },
    prefetch: Math.max(0, Math.floor(options.prefetch ?? 0)),
    confirmPublish: options.confirmPublish ?? true,
    heartbeatSec,
    reconnect: {
      initialDelayMs: options.reconnect?.initialDelayMs ?? 100,
      maxDelayMs: options.reconnect?.maxDelayMs ?? 30_000,
    },
    durableQueues,
    persistent: options.persistent ?? durableQueues,
    requeueOnError: options.requeueOnError ?? true,
    publishTimeoutMs: options.publishTimeoutMs ?? 30_000,
    operationTimeoutMs: options.operationTimeoutMs ?? 10_000,
    logger: options.logger ?? silentLogger,
  };
}

/** The n-th back-off delay (n from 0), doubled each time, capped, with ±20 % jitter. */
export function backoffDelay(n: number, reconnect: Required<ReconnectOptions>): number {
  const base = Math.min(reconnect.maxDelayMs, reconnect.initialDelayMs * 2 ** Math.min(n, 30));
  return Math.round(base * (0.8 + Math.random() * 0.4));
}
