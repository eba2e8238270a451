import { randomBytes } from "node:crypto";
import { brokerContract } from "@microts/testing";
import { Redis } from "ioredis";
import { createRedisBroker } from "./index.js";

// Against the machine's shared Redis; streams of this run live under a unique prefix, deleted after.
const address = "redis://127.0.0.1:6379";
const streamPrefix = `microts-test:${randomBytes(4).toString("hex")}:`;

brokerContract("redis", {
  create: () => createRedisBroker({ address, streamPrefix }),
  cleanup: async () => {
    const r = new Redis(address, { protocol: 2 });
    const keys = await r.keys(`${streamPrefix}*`);
    if (keys.length > 0) await r.del(...keys);
    r.disconnect();
  },
});
