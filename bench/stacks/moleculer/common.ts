import { ServiceBroker, Transporters } from "moleculer";

/**
 * Moleculer's TCP transporter with every peer reached at 127.0.0.1 (it would otherwise dial the
 * peer's host name or first interface address) and UDP discovery off: the client is given the
 * server's `host:port/nodeID`, the server learns the client from its gossip HELLO.
 */
class LoopbackTcpTransporter extends Transporters.TCP {
  override getNodeAddress(): string {
    return "127.0.0.1";
  }
}

/** Which transporter a Moleculer stack uses. */
export type MoleculerTransport = "tcp" | "nats";

/** Options for {@link makeBroker}. */
export interface MoleculerBrokerOptions {
  transport: MoleculerTransport;
  nodeID: string;
  /** Keeps this run's nodes apart from anything else on the shared NATS server. */
  namespace: string;
  /** TCP: static `host:port/nodeID` peers. */
  urls?: string[];
}

/** A quiet ServiceBroker (no logger, metrics or tracing) on the chosen transporter. */
export function makeBroker(o: MoleculerBrokerOptions): ServiceBroker {
  const transporter =
    o.transport === "tcp"
      ? new LoopbackTcpTransporter({
          udpDiscovery: false,
          port: 0,
          ...(o.urls ? { urls: o.urls.join(",") } : {}),
        })
      : { type: "NATS" as const, options: { url: "nats://127.0.0.1:4222" } };
  return new ServiceBroker({
    nodeID: o.nodeID,
    namespace: o.namespace,
    transporter,
    logger: false,
    requestTimeout: 10_000,
    metrics: false,
    tracing: false,
  });
}

/** The TCP port a started broker's transporter listens on (0 for NATS). */
export function tcpPort(broker: ServiceBroker): number {
  const nodes = (broker.registry as unknown as { nodes: { localNode?: { port?: number } } }).nodes;
  return nodes.localNode?.port ?? 0;
}

/** Waits (bounded) until `count` nodes offer `service`. */
export async function waitForNodes(broker: ServiceBroker, service: string, count: number, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const list = broker.registry.getServiceList({ onlyAvailable: true }) as Array<{ name: string }>;
    if (list.filter((s) => s.name === service).length >= count) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`moleculer: ${count} node(s) of ${service} not seen within ${timeoutMs} ms`);
}
