import type { Broker, Registry } from "@microts/core";
import { createMemoryBroker, silentLogger } from "@microts/core";
import { createHttpBroker } from "@microts/http";
import { createMqttBroker } from "@microts/mqtt";
import { createJetStreamBroker, createNatsBroker } from "@microts/nats";
import { createRabbitmqBroker } from "@microts/rabbitmq";
import { createRedisBroker } from "@microts/redis";
import { SERVICES } from "../../lib/services.js";

/** The micro-ts brokers measured. */
export type BrokerKind = "http" | "nats" | "jetstream" | "redis" | "rabbitmq" | "mqtt" | "memory";

/**
 * A broker of `kind` for the messages of `topic`, with its defaults except where noted: HTTP
 * subscribers are registered in `registry`; the networked ones use the shared loopback servers
 * ({@link SERVICES}); JetStream keeps the run's messages in a stream of their own
 * ({@link jetStreamName}). What a run leaves on those servers is removed by {@link removeLeftovers}.
 */
export function makeBroker(kind: BrokerKind, registry: Registry, topic: string): Broker {
  switch (kind) {
    case "http":
      return createHttpBroker({ registry, logger: silentLogger });
    case "nats":
      return createNatsBroker({ address: SERVICES.nats.url });
    case "jetstream":
      return createJetStreamBroker({
        address: SERVICES.nats.url,
        stream: jetStreamName(topic),
      });
    case "redis":
      return createRedisBroker({ address: SERVICES.redis.url });
    case "rabbitmq":
      return createRabbitmqBroker({ address: SERVICES.rabbitmq.url });
    case "mqtt":
      return createMqttBroker({ address: SERVICES.mqtt.url });
    case "memory":
      return createMemoryBroker();
  }
}

/** The message every publisher sends: a JSON body of `bytes` characters, encoded once. */
export function brokerMessage(bytes: number): { header: Record<string, string>; body: Uint8Array } {
  return {
    header: { "Content-Type": "application/json" },
    body: new TextEncoder().encode(JSON.stringify({ data: "x".repeat(bytes) })),
  };
}

/** The JetStream stream of a run's topic (stream names allow no dots). */
export function jetStreamName(topic: string): string {
  return `MICROTS_${topic.replace(/[^A-Za-z0-9_-]/g, "_")}`;
}

/** The queue group the queue-group scenario subscribes with: one per run, so no two runs share one. */
export function queueName(topic: string): string {
  return `${topic}.group`;
}
