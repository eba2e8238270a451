import { connect } from "node:net";

/** The loopback servers the broker stacks use (the same ones the integration tests use). */
export const SERVICES = {
  nats: { url: "nats://127.0.0.1:4222", port: 4222 },
  redis: { url: "redis://127.0.0.1:6379", port: 6379 },
  rabbitmq: { url: "amqp://guest:guest@127.0.0.1:5672", port: 5672 },
  mqtt: { url: "mqtt://127.0.0.1:1883", port: 1883 },
} as const;

export type ServiceName = keyof typeof SERVICES;

/**
 * Why `service` cannot be used (nothing listens on its loopback port within 1 s), or undefined
 * when a TCP connection opens. The stack that needs it is then reported as unavailable.
 */
export function serviceUnavailable(service: ServiceName): Promise<string | undefined> {
  const { port } = SERVICES[service];
  return new Promise((resolve) => {
    const sock = connect({ host: "127.0.0.1", port });
    const done = (why: string | undefined) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(why);
    };
    const timer = setTimeout(() => done(`no ${service} server answers on 127.0.0.1:${port}`), 1_000);
    sock.once("connect", () => done(undefined));
    sock.once("error", (err) => done(`no ${service} server on 127.0.0.1:${port} (${err.message})`));
  });
}

/** What a pub/sub run leaves on a shared server, to be removed when its subscribers stop. */
export interface Leftovers {
  /** Redis keys (the streams queue groups use). */
  redisKeys?: string[] | undefined;
  /** Durable RabbitMQ queues (queue groups). */
  rabbitQueues?: string[] | undefined;
  /** JetStream streams (their consumers go with them). */
  jetStreams?: string[] | undefined;
}

/**
 * Deletes what a run left on the shared servers, so that repeated runs do not fill them. Each
 * deletion is tried once; a failure is printed to stderr and does not fail the run.
 */
export async function removeLeftovers(left: Leftovers): Promise<void> {
  const warn = (what: string, err: unknown) =>
    process.stderr.write(
      `bench: could not delete ${what}: ${err instanceof Error ? err.message : String(err)}\n`,
    );
  if (left.redisKeys?.length) {
    const { Redis } = await import("ioredis");
    const r = new Redis(SERVICES.redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await r.connect();
      await r.del(...left.redisKeys);
    } catch (err) {
      warn(`redis keys ${left.redisKeys.join(", ")}`, err);
    } finally {
      r.disconnect();
    }
  }
  if (left.rabbitQueues?.length) {
    const amqp = await import("amqplib");
    try {
      const conn = await amqp.connect(SERVICES.rabbitmq.url);
      const ch = await conn.createChannel();
      for (const q of left.rabbitQueues) await ch.deleteQueue(q);
      await conn.close();
    } catch (err) {
      warn(`rabbitmq queues ${left.rabbitQueues.join(", ")}`, err);
    }
  }
  if (left.jetStreams?.length) {
    const { connect } = await import("nats");
    try {
      const nc = await connect({ servers: SERVICES.nats.url, timeout: 5_000 });
      const jsm = await nc.jetstreamManager();
      for (const s of left.jetStreams) await jsm.streams.delete(s).catch((err) => warn(`stream ${s}`, err));
      await nc.close();
    } catch (err) {
      warn(`jetstream streams ${left.jetStreams.join(", ")}`, err);
    }
  }
}
