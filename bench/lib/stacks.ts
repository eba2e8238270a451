import { goMicroUnavailable } from "../stacks/go-micro/external.js";
import { protobufCodecFactory } from "../stacks/microts/stack.js";
import type { BrokerKind } from "../stacks/microts-broker/brokers.js";
import { type ServiceName, serviceUnavailable } from "./services.js";

/** Who a stack belongs to: micro-ts itself, the raw limits, or a peer framework. */
export type Family = "micro-ts" | "raw" | "peer";

/** One system under test. Scripts are relative to bench/. */
export interface StackDef {
  /** Short unique name, shown in tables and matched by `--only`. */
  id: string;
  family: Family;
  /** Request/response stacks take the unary/stream scenarios, pub/sub stacks the pub/sub ones. */
  role: "rpc" | "pubsub";
  /** Server (or subscriber) script; none when client and server share one process. */
  server?: string | undefined;
  /** Client (or publisher) script: the measuring side. */
  client: string;
  /** Options passed to both scripts. */
  args: Record<string, unknown>;
  /** Capabilities: server stream, extra connections (memory per connection). */
  stream?: boolean | undefined;
  connections?: boolean | undefined;
  /**
   * Most messages a pub/sub publisher runs ahead of its subscribers (default: the mode's
   * `pubsubWindow`). A slow broker gets a smaller one, so that each round's backlog drains quickly.
   */
  pubsubWindow?: number | undefined;
  /** Resolves with the reason the stack cannot run here, or undefined. */
  unavailable?: (() => Promise<string | undefined>) | undefined;
  /** One line shown under the tables. */
  note?: string | undefined;
  /**
   * Pub/sub: the raw limit this stack is compared with (the driver it is built on, used bare).
   * Default `raw-nats`.
   */
  raw?: string | undefined;
  /**
   * Measured in full mode, and in quick mode only when `--only` names it, so that quick mode stays
   * under 3 minutes. Smoke mode always starts it.
   */
  fullOnly?: boolean | undefined;
}

const microts = (variant: string) => ({
  server: "stacks/microts/server.ts",
  client: "stacks/microts/client.ts",
  args: { variant },
});
const moleculer = (transport: "tcp" | "nats", mode: "rpc" | "events") => ({
  server: "stacks/moleculer/server.ts",
  client: "stacks/moleculer/client.ts",
  args: { transport, mode, namespace: `bench-${process.pid}-${transport}-${mode}` },
});
const broker = (kind: BrokerKind) => ({
  server: "stacks/microts-broker/subscriber.ts",
  client: "stacks/microts-broker/publisher.ts",
  args: { broker: kind },
});
const rawBroker = (dir: string) => ({
  server: `stacks/${dir}/subscriber.ts`,
  client: `stacks/${dir}/publisher.ts`,
  args: {},
});
/** The stack needs `service` on its loopback port. */
const needs = (service: ServiceName) => ({ unavailable: () => serviceUnavailable(service) });

/** Every stack, in table order. */
export const STACKS: StackDef[] = [
  {
    id: "raw-tcp",
    family: "raw",
    role: "rpc",
    server: "stacks/raw-tcp/server.ts",
    client: "stacks/raw-tcp/client.ts",
    args: { batched: true },
    stream: true,
    connections: true,
    note: "Length-prefixed frames on one connection; frames of one event-loop tick leave together (one write, or a corked writev).",
  },
  {
    id: "raw-tcp-write-each",
    family: "raw",
    role: "rpc",
    server: "stacks/raw-tcp/server.ts",
    client: "stacks/raw-tcp/client.ts",
    args: { batched: false },
    stream: true,
    note: "The same protocol with one socket.write per message.",
  },
  {
    id: "raw-tcp-json",
    family: "raw",
    role: "rpc",
    server: "stacks/raw-tcp/server.ts",
    client: "stacks/raw-tcp/client.ts",
    args: { batched: true, json: true },
    note: "raw-tcp carrying JSON: each side writes with JSON.stringify and reads with JSON.parse, as a hand-written JSON protocol does: how much of a JSON stack's distance to raw-tcp is JSON itself. Not a raw limit of the targets.",
  },
  {
    id: "micro-ts-http",
    family: "micro-ts",
    role: "rpc",
    ...microts("http"),
    stream: true,
    connections: true,
    note: "createServer/createClient over @microts/http (Go Micro's default HTTP transport), JSON.",
  },
  {
    id: "micro-ts-tcp",
    family: "micro-ts",
    role: "rpc",
    ...microts("tcp"),
    stream: true,
    connections: true,
    note: "createServer/createClient over @microts/tcp (micro-ts's binary TCP transport), JSON.",
  },
  {
    id: "micro-ts-tcp-poll",
    family: "micro-ts",
    role: "rpc",
    ...microts("tcp-poll"),
    note: "micro-ts-tcp with `busyPollMs: 0.5` at both ends: each process keeps polling its sockets for 0.5 ms after every message instead of sleeping until the kernel wakes it. Latency for CPU: its CPU columns include the polling.",
  },
  {
    id: "micro-ts-nats",
    family: "micro-ts",
    role: "rpc",
    ...microts("nats"),
    stream: true,
    connections: true,
    note: "createServer/createClient over the @microts/nats transport (shared nats-server), JSON.",
  },
  {
    id: "micro-ts-http-proto",
    family: "micro-ts",
    role: "rpc",
    ...microts("http-proto"),
    stream: true,
    unavailable: async () => {
      const f = await protobufCodecFactory();
      return typeof f === "string" ? f : undefined;
    },
    note: "HTTP transport with @microts/protobuf's application/protobuf codec (bench/proto/bench.proto).",
  },
  {
    id: "micro-ts-memory",
    family: "micro-ts",
    role: "rpc",
    client: "stacks/microts/in-process.ts",
    args: { variant: "memory" },
    stream: true,
    note: "In-process: server and client in one process over the memory transport (CPU counted once, as client).",
  },
  {
    id: "moleculer-tcp",
    family: "peer",
    role: "rpc",
    ...moleculer("tcp", "rpc"),
    note: "Moleculer 0.15 TCP transporter (UDP discovery off, peers at 127.0.0.1), JSON serializer.",
  },
  {
    id: "moleculer-nats",
    family: "peer",
    role: "rpc",
    ...moleculer("nats", "rpc"),
    note: "Moleculer 0.15 NATS transporter (nats v2 client), JSON serializer.",
  },
  {
    id: "nestjs-tcp",
    family: "peer",
    role: "rpc",
    server: "stacks/nest-tcp/server.ts",
    client: "stacks/nest-tcp/client.ts",
    args: {},
    note: "NestJS 12 microservices, TCP transport, ClientProxy.send.",
  },
  {
    id: "grpc-js",
    family: "peer",
    role: "rpc",
    server: "stacks/grpc/server.ts",
    client: "stacks/grpc/client.ts",
    args: {},
    stream: true,
    connections: true,
    note: "grpc-js 1.14 with proto-loader (bench/proto/bench.proto), one channel.",
  },
  {
    id: "go-micro-http",
    family: "peer",
    role: "rpc",
    server: "stacks/go-micro/server.ts",
    client: "stacks/go-micro/client.ts",
    args: {},
    unavailable: async () => goMicroUnavailable(),
    note: "Go Micro default stack (HTTP transport, JSON), external binaries.",
  },
  {
    id: "go-micro-nats",
    family: "peer",
    role: "rpc",
    server: "stacks/go-micro/server.ts",
    client: "stacks/go-micro/client.ts",
    args: { transport: "nats" },
    unavailable: async () => goMicroUnavailable(),
    note: "Go Micro on its NATS transport (shared nats-server), JSON, external binaries.",
  },
  {
    id: "raw-nats",
    family: "raw",
    role: "pubsub",
    server: "stacks/raw-nats/subscriber.ts",
    client: "stacks/raw-nats/publisher.ts",
    args: {},
    note: "nats.js (nats v2) publish/subscribe of pre-encoded bytes, one publish call per message: the nats.js limit.",
  },
  {
    id: "micro-ts-nats-broker",
    family: "micro-ts",
    role: "pubsub",
    ...broker("nats"),
    note: "@microts/nats createNatsBroker (Go Micro's JSON envelope), Broker.publish/subscribe.",
  },
  {
    id: "micro-ts-http-broker",
    family: "micro-ts",
    role: "pubsub",
    ...broker("http"),
    note: "@microts/http createHttpBroker (Go Micro's default broker: an HTTP POST per delivery, pipelined on one connection per subscriber).",
  },
  {
    id: "micro-ts-jetstream-broker",
    family: "micro-ts",
    role: "pubsub",
    ...broker("jetstream"),
    ...needs("nats"),
    fullOnly: true,
    note: "@microts/nats createJetStreamBroker: every publish waits for its PubAck (stream on file, the default), every delivery is acked. Its raw limit is core NATS, which stores nothing.",
  },
  {
    id: "raw-redis",
    family: "raw",
    role: "pubsub",
    ...rawBroker("raw-redis"),
    ...needs("redis"),
    fullOnly: true,
    note: "ioredis used bare, with auto-pipelining: PUBLISH/SUBSCRIBE; the queue group reads one stream through a consumer group (XADD, XREADGROUP, one XACK per batch).",
  },
  {
    id: "micro-ts-redis-broker",
    family: "micro-ts",
    role: "pubsub",
    ...broker("redis"),
    ...needs("redis"),
    raw: "raw-redis",
    fullOnly: true,
    note: "@microts/redis createRedisBroker: each publish is one Lua script (XADD when a queue group made the topic's stream, then PUBLISH); queue groups read Redis Streams consumer groups and ack each entry.",
  },
  {
    id: "raw-amqp",
    family: "raw",
    role: "pubsub",
    ...rawBroker("raw-amqp"),
    ...needs("rabbitmq"),
    fullOnly: true,
    note: "amqplib used bare: confirmed publishes to a topic exchange, consumers acking each delivery, as the micro-ts broker does.",
  },
  {
    id: "micro-ts-rabbitmq-broker",
    family: "micro-ts",
    role: "pubsub",
    ...broker("rabbitmq"),
    ...needs("rabbitmq"),
    raw: "raw-amqp",
    fullOnly: true,
    note: "@microts/rabbitmq createRabbitmqBroker with its defaults: publisher confirms, a durable queue per group, an ack per delivery.",
  },
  {
    id: "raw-mqtt",
    family: "raw",
    role: "pubsub",
    ...rawBroker("raw-mqtt"),
    ...needs("mqtt"),
    fullOnly: true,
    note: "mqtt.js used bare on Mosquitto: QoS 1 publish and subscribe (MQTT 5), the queue group as a shared subscription.",
  },
  {
    id: "micro-ts-mqtt-broker",
    family: "micro-ts",
    role: "pubsub",
    ...broker("mqtt"),
    ...needs("mqtt"),
    raw: "raw-mqtt",
    fullOnly: true,
    note: "@microts/mqtt createMqttBroker with its defaults (QoS 1) on Mosquitto.",
  },
  {
    id: "micro-ts-memory-broker",
    family: "micro-ts",
    role: "pubsub",
    client: "stacks/microts-broker/in-process.ts",
    args: {},
    note: "In-process memory broker (publisher and subscribers in one process).",
  },
  {
    id: "moleculer-nats-events",
    family: "peer",
    role: "pubsub",
    ...moleculer("nats", "events"),
    note: "Moleculer 0.15 broker.emit over NATS (balanced events; a group = 3 nodes of one service).",
  },
];

/** The raw limits: the RPC scenarios compare with the better of the raw TCP variants. */
export const RAW_RPC = ["raw-tcp", "raw-tcp-write-each"];
/** The raw limit of pub/sub stacks that name none of their own ({@link StackDef.raw}). */
export const RAW_PUBSUB = ["raw-nats"];
