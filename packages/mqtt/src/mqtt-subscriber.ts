import type { BrokerEvent, BrokerHandler, IoOptions, SubscribeOptions } from "@microts/core";
import { decodeMessageEnvelope, MicroError } from "@microts/core";
import { runHandler, unlessInsideHandler } from "@microts/core/internal";
import type { IClientOptions, IPublishPacket, ISubscriptionMap, MqttClient } from "mqtt";
import { closeClient, ID, openClient, type QoS, withDeadline } from "./mqtt-client.js";

/** PUBACK reason codes (MQTT 5). Any code ≥ 0x80 still completes the delivery: nothing is resent. */
const UNSPECIFIED_ERROR = 0x80;
const PAYLOAD_FORMAT_INVALID = 0x99;

/** What one subscriber needs from its broker. */
export interface MqttSubscriberConfig {
  url: string;
  /** The subscription as the caller named it (without the prefix). */
  topic: string;
  /** `topicPrefix`, stripped from incoming topic names. */
  prefix: string;
  /** The MQTT filter: `<prefix><topic>` or `$share/<queue>/<prefix><topic>`. */
  filter: string;
  qos: QoS;
  clean: boolean;
  clientOptions: IClientOptions;
  handler: BrokerHandler;
  options: SubscribeOptions;
  timeoutMs: number;
}

/** A running subscriber with its own MQTT connection (and session). */
export interface MqttSubscriber {
  /** Stops deliveries, waits for the in-flight handler, unsubscribes and ends the session. */
  unsubscribe(): Promise<void>;
  /** Stops deliveries and closes the connection; a persistent session (clean: false) is kept. */
  close(): Promise<void>;
}

/**
 * Starts a subscriber: one MQTT client per subscriber, so routing and acking are per subscription
 * and the members of a shared subscription are separate sessions. QoS 1/2 deliveries come through
 * mqtt.js' `customHandleAcks`, whose callback sends the PUBACK: we call it on `ack()`, which is
 * why deliveries to one subscriber are handled one at a time (mqtt.js reads no further packet
 * until then).
 */
export async function startMqttSubscriber(
  cfg: MqttSubscriberConfig,
  io?: IoOptions,
): Promise<MqttSubscriber> {
  const { options } = cfg;
  const autoAck = options.autoAck !== false;
  let active = true;
  let inFlight: Promise<void> = Promise.resolve();
  const self = {};
  // Each connection gets a generation; an ack for a delivery of an older connection is dropped
  // (its packet id means nothing on the new connection; the server resends it in a persistent session).
  let generation = 0;
  let client: MqttClient | undefined;

  const report = (err: unknown) => {
    try {
      options.onError?.(err);
    } catch {
      // onError must not break the delivery path
    }
  };

  const deliver = (packet: IPublishPacket, done: ((code: number) => void) | undefined): Promise<void> => {
    const gen = generation;
    const complete = (code: number) => {
      if (done && gen === generation) done(code);
    };
    if (!active) {
      // After unsubscribe: leave it unacked; the session is about to end anyway.
      return Promise.resolve();
    }
    let message: ReturnType<typeof decodeMessageEnvelope>;
    try {
      message = decodeMessageEnvelope(packet.payload);
    } catch (err) {
      report(err);
      complete(PAYLOAD_FORMAT_INVALID);
      return Promise.resolve();
    }
    let settled = false;
    const event: BrokerEvent = {
      topic: packet.topic.startsWith(cfg.prefix) ? packet.topic.slice(cfg.prefix.length) : packet.topic,
      message,
      // DUP says "sent before"; MQTT does not count deliveries.
      redelivered: packet.dup ? 1 : 0,
      ack: async () => {
        if (settled) return;
        settled = true;
        complete(0);
      },
      nack: async (requeue = true) => {
        if (settled) return;
        settled = true;
        if (requeue && !cfg.clean && gen === generation && client) {
          // Withhold the PUBACK and drop the connection: the persistent session resends it (DUP).
          client.stream.destroy();
          return;
        }
        complete(UNSPECIFIED_ERROR);
      },
    };
    const run = async () => {
      try {
        await runHandler(self, () => cfg.handler(event));
        if (autoAck) await event.ack();
      } catch (err) {
        report(err);
        if (autoAck) await event.nack(true);
      }
    };
    const p = run();
    inFlight = p;
    return p;
  };

  const clientOptions: IClientOptions = {
    ...cfg.clientOptions,
    customHandleAcks: (_topic, _message, packet: IPublishPacket, done) => {
      void deliver(packet, (code) => done(code));
    },
  };
  client = await openClient(cfg.url, clientOptions, io, cfg.timeoutMs);
  const c = client;
  c.on("connect", (connack) => {
    generation++;
    // mqtt.js resubscribes only when the session is gone. With a resumed session we subscribe again
    // anyway: Mosquitto 2.0.11 does not restore shared subscriptions from its persistence file.
    if (connack.sessionPresent && active) {
      // `resubscribe: true` makes mqtt.js send it although it believes the subscription is active.
      const again: ISubscriptionMap = Object.assign(
        { [cfg.filter]: { qos: cfg.qos } },
        { resubscribe: true },
      );
      c.subscribeAsync(again).catch((err: unknown) =>
        report(
          MicroError.serviceUnavailable(ID, `resubscribe ${cfg.filter}: ${String(err)}`, { cause: err }),
        ),
      );
    }
  });
  c.on("message", (_topic, _payload, packet) => {
    // QoS 1/2 arrive through customHandleAcks (QoS 2 is emitted here again on PUBREL).
    if (packet.qos === 0) void deliver(packet, undefined);
  });
  try {
    const grants = await withDeadline(`subscribe ${cfg.topic}`, io, cfg.timeoutMs, () =>
      c.subscribeAsync(cfg.filter, { qos: cfg.qos }),
    );
    const refused = grants.find((g) => g.qos === 128);
    if (refused) throw MicroError.forbidden(ID, `subscribe ${cfg.filter}: refused by the server`);
  } catch (err) {
    active = false;
    await closeClient(c, { sessionExpiryInterval: 0 });
    throw err;
  }

  const stop = async (keepSession: boolean) => {
    if (!active) return;
    active = false;
    // The handler in progress finishes (and is acked) before the session ends. When that handler is
    // the caller, this resolves now and the rest follows once it has returned.
    await unlessInsideHandler(self, finish(keepSession));
  };
  const finish = async (keepSession: boolean) => {
    await inFlight;
    if (!keepSession && c.connected) {
      await withDeadline(`unsubscribe ${cfg.topic}`, undefined, 2_000, () =>
        c.unsubscribeAsync(cfg.filter),
      ).catch(() => {});
    }
    await closeClient(c, keepSession ? undefined : { sessionExpiryInterval: 0 });
  };
  return { unsubscribe: () => stop(false), close: () => stop(cfg.clean === false) };
}
