import { randomBytes } from "node:crypto";
import { after } from "node:test";
import { brokerContract, registryContract, transportContract } from "@microts/testing";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { createJetStreamBroker } from "./jetstream-broker.js";
import { createNatsBroker } from "./nats-broker.js";
import { createNatsRegistry } from "./nats-registry.js";
import { createNatsTransport } from "./nats-transport.js";

// The machine's shared server; every run uses its own subjects and stream.
const address = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
const run = randomBytes(4).toString("hex");

registryContract("nats", {
  create: async () => {
    const r = createNatsRegistry({
      address,
      queryTopic: `test.${run}.micro.nats.query`,
      watchTopic: `test.${run}.micro.nats.watch`,
    });
    await r.connect();
    return r;
  },
  propagationMs: 100,
  supportsTtl: true,
});

brokerContract("nats", { create: () => createNatsBroker({ address }) });

const stream = `MICROTS_TEST_${run}`;
brokerContract("nats jetstream", {
  create: () => createJetStreamBroker({ address, stream, storage: "memory" }),
  cleanup: () => deleteStream(stream),
});

transportContract("nats", { create: () => createNatsTransport({ address }), listenAddress: ":0" });

after(() => deleteStream(stream));

async function deleteStream(name: string): Promise<void> {
  const nc = await connect({ servers: address });
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(name).catch(() => false);
  } finally {
    await nc.close();
  }
}
