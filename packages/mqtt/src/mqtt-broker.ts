import { createHash, randomBytes } from "node:crypto";
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
import type { IClientOptions, MqttClient } from "mqtt";
import { closeClient, ID, openClient, type QoS, withDeadline } from "./mqtt-client.js";
import { type MqttSubscriber, startMqttSubscriber } from "./mqtt-subscriber.js";

/** Options for {@link createMqttBroker}. */
export interface MqttBrokerOptions {
  /** `mqtt://host:port`, `mqtts://...`, `ws://...` or `host:port`. Default "mqtt://127.0.0.1:1883". */
  address?: string;
  /** QoS of publishes and subscriptions: 0 (at most once), 1 (at least once) or 2. Default 1. */
  qos?: QoS;
  /**
   * Base client id. The publisher uses it as is; each subscriber uses `<clientId>-s<hash of queue and
   * topic>[-n]`, stable across restarts so persistent sessions resume. Default `microts-<random>`.
   */
  clientId?: string;
  /**
   * Clean start. `false` keeps each subscriber's session on the server (MQTT 5 session expiry
   * `sessionExpirySec`): messages are queued while it is offline and unacked ones are resent.
   * Default true.
   */
  clean?: boolean;
  /** Session expiry interval for `clean: false`, in seconds. Default 3 600. */
  sessionExpirySec?: number;
  /** Prepended to every topic; MQTT separates levels with "/", "." is an ordinary character. Default "". */
  topicPrefix?: string;
  /** MQTT keepalive, in seconds. Also the longest a handler may run before its connection is reset. Default 30. */
  keepaliveSec?: number;
  /** Delay between reconnect attempts, in milliseconds. Default 1 000. */
  reconnectPeriodMs?: number;
  /** Deadline of connect, publish and subscribe when the caller gives none, in ms. Default 10 000. */
  timeoutMs?: number;
  /** Extra mqtt.js options (username, password, TLS...). Client id, clean, protocol version are ours. */
  mqttOptions?: IClientOptions;
}

/**
 * A Go Micro style broker on MQTT 5 (name "mqtt"). Topics map 1:1 (after `topicPrefix`); queue groups
 * are shared subscriptions `$share/<queue>/<topic>`. The payload is Go Micro's broker envelope
 * `{"Header":{...},"Body":"<base64>"}`. With QoS 1, `publish` resolves on PUBACK and a subscriber's
 * PUBACK is sent when its handler acks. See the README for the exact guarantee.
 */
export function createMqttBroker(options: MqttBrokerOptions = {}): Broker {
  const url = normalizeAddress(options.address ?? "mqtt://127.0.0.1:1883");
  const qos: QoS = options.qos ?? 1;
  const baseId = options.clientId ?? `microts-${randomBytes(6).toString("hex")}`;
  const clean = options.clean ?? true;
  const sessionExpirySec = clean ? 0 : (options.sessionExpirySec ?? 3_600);
  const prefix = options.topicPrefix ?? "";
  const timeoutMs = options.timeoutMs ?? 10_000;
  const common: IClientOptions = {
    ...options.mqttOptions,
    protocolVersion: 5,
    keepalive: options.keepaliveSec ?? 30,
    reconnectPeriod: options.reconnectPeriodMs ?? 1_000,
    connectTimeout: Math.min(timeoutMs, 30_000),
  };

  let publisher: MqttClient | undefined;
  let opening: Promise<MqttClient> | undefined;
  // Client ids of live subscribers: a second identical subscription gets the next free suffix.
  const usedIds = new Set<string>();
  const unsubscribers = new Set<() => Promise<void>>();

  const ensure = (io?: IoOptions): Promise<MqttClient> => {
    if (!opening) {
      // The publisher has no subscriptions: a clean session is always right for it.
      const p = openClient(url, { ...common, clientId: baseId, clean: true }, io, timeoutMs);
      opening = p;
      p.then(
        (c) => {
          if (opening === p) publisher = c;
        },
        () => {
          if (opening === p) opening = undefined;
        },
      );
    }
    const p = opening;
    return withDeadline(`connect ${url}`, io, timeoutMs, () => p);
  };

  const subscriberId = (topic: string, queue: string | undefined): string => {
    const hash = createHash("sha1")
      .update(`${queue ?? ""}\u0000${topic}`)
      .digest("hex")
      .slice(0, 12);
    let id = `${baseId}-s${hash}`;
    for (let n = 1; usedIds.has(id); n++) id = `${baseId}-s${hash}-${n}`;
    usedIds.add(id);
    return id;
  };

  return {
    name: "mqtt",
    get address() {
      return publisher ? url : "";
    },
    async connect(io) {
      await ensure(io);
    },
    async disconnect() {
      const pending = [...unsubscribers];
      unsubscribers.clear();
      await Promise.allSettled(pending.map((u) => u()));
      const opened = opening;
      opening = undefined;
      publisher = undefined;
      const c = opened ? await opened.catch(() => undefined) : undefined;
      if (c) await closeClient(c, undefined);
    },
    async publish(topic: string, message: BrokerMessage, io: BrokerPublishOptions = {}) {
      validateTopic(topic, "publish");
      if (/[+#]/.test(topic))
        throw MicroError.badRequest(ID, `publish: wildcards are not allowed in ${topic}`);
      const c = await ensure(io);
      const payload = Buffer.from(encodeMessageEnvelope(message));
      // QoS 1: resolves on PUBACK. While disconnected mqtt.js queues the packet and sends it on
      // reconnect, so a publish that timed out here may still be delivered later.
      await withDeadline(`publish ${topic}`, io, timeoutMs, () =>
        c.publishAsync(prefix + topic, payload, { qos }),
      );
    },
    async subscribe(topic: string, handler: BrokerHandler, opts: SubscribeOptions = {}): Promise<Subscriber> {
      validateTopic(topic, "subscribe");
      if (opts.queue !== undefined && (opts.queue === "" || /[/+#]/.test(opts.queue))) {
        throw MicroError.badRequest(
          ID,
          `subscribe: queue name ${JSON.stringify(opts.queue)} is not a valid share name`,
        );
      }
      await ensure();
      const options = { ...opts };
      const full = prefix + topic;
      const clientId = subscriberId(topic, options.queue);
      let sub: MqttSubscriber;
      try {
        sub = await startMqttSubscriber({
          url,
          topic,
          prefix,
          filter: options.queue ? `$share/${options.queue}/${full}` : full,
          qos,
          clean,
          clientOptions: {
            ...common,
            clientId,
            clean,
            properties: { ...common.properties, sessionExpiryInterval: sessionExpirySec },
          },
          handler,
          options,
          timeoutMs,
        });
      } catch (err) {
        usedIds.delete(clientId);
        throw err;
      }
      let closing: Promise<void> | undefined;
      const finish = (how: "unsubscribe" | "close") => {
        if (!closing) {
          unsubscribers.delete(onDisconnect);
          closing = (how === "unsubscribe" ? sub.unsubscribe() : sub.close()).finally(() =>
            usedIds.delete(clientId),
          );
        }
        return closing;
      };
      const unsubscribe = () => finish("unsubscribe");
      // Broker.disconnect keeps persistent sessions (clean: false) so messages queue up until restart.
      const onDisconnect = () => finish("close");
      unsubscribers.add(onDisconnect);
      return { topic, options, unsubscribe, [Symbol.asyncDispose]: unsubscribe };
    },
  };
}

function validateTopic(topic: string, what: string): void {
  if (!topic) throw MicroError.badRequest(ID, `${what}: topic is required`);
  if (topic.includes("\u0000")) throw MicroError.badRequest(ID, `${what}: topic contains NUL`);
}

/** `host:port` → `mqtt://host:port`; URLs pass through. */
function normalizeAddress(address: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(address) ? address : `mqtt://${address}`;
}
