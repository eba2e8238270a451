import type { Broker, Registry } from "@microts/core";
import { createMemoryBroker, silentLogger } from "@microts/core";
import { createHttpBroker } from "@microts/http";
import { createNatsBroker } from "@microts/nats";

/** The micro-ts brokers measured. */
export type BrokerKind = "http" | "nats" | "memory";

/** A broker of `kind` (HTTP: subscribers registered in `registry`; NATS: the shared server). */
export function makeBroker(kind: BrokerKind, registry: Registry, natsUrl = "nats://127.0.0.1:4222"): Broker {
  switch (kind) {
    case "http":
      return createHttpBroker({ registry, logger: silentLogger });
    case "nats":
      return createNatsBroker({ address: natsUrl });
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
