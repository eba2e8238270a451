import { Redis } from "ioredis";
import { runServer } from "../../lib/server-harness.js";
import { removeLeftovers, SERVICES } from "../../lib/services.js";

/** Entries read per XREADGROUP, as the micro-ts broker's default batch. */
const BATCH = 64;

// ioredis used bare. One subscriber: SUBSCRIBE. A queue group: three consumers of one consumer
// group on the run's stream, each on its own connection, acking each batch with one XACK.
runServer(async ({ args, received }) => {
  const topic = String(args.topic);
  const n = Number(args.subscribers ?? 1);
  const conns: Redis[] = [];
  const open = async () => {
    const r = new Redis(SERVICES.redis.url, { lazyConnect: true, maxRetriesPerRequest: null });
    await r.connect();
    conns.push(r);
    return r;
  };
  let running = true;
  const loops: Promise<void>[] = [];
  const key = `${topic}.stream`;
  if (n === 1) {
    const r = await open();
    r.on("messageBuffer", () => received());
    await r.subscribe(topic);
  } else {
    const admin = await open();
    await admin.xgroup("CREATE", key, "bench", "$", "MKSTREAM");
    for (let i = 0; i < n; i++) {
      const r = await open();
      loops.push(
        (async () => {
          while (running) {
            const res = (await r.xreadgroup(
              "GROUP",
              "bench",
              `c${i}`,
              "COUNT",
              BATCH,
              "BLOCK",
              200,
              "STREAMS",
              key,
              ">",
            )) as [string, [string, string[]][]][] | null;
            const entries = res?.[0]?.[1] ?? [];
            if (entries.length === 0) continue;
            received(entries.length);
            await admin.xack(key, "bench", ...entries.map((e) => e[0]));
          }
        })(),
      );
    }
  }
  return {
    address: SERVICES.redis.url,
    async close() {
      running = false;
      await Promise.allSettled(loops);
      for (const r of conns) r.disconnect();
      if (n > 1) await removeLeftovers({ redisKeys: [key] });
    },
  };
});
