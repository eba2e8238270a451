import { registryContract } from "@microts/testing";
import { startEtcd } from "@microts/testing/servers/etcd";
import { createEtcdRegistry } from "./index.js";

const etcd = await startEtcd();

registryContract("etcd", {
  create: () => createEtcdRegistry({ address: etcd.address }),
  cleanup: () => etcd[Symbol.asyncDispose](),
  supportsTtl: true,
  skip: [
    {
      reason:
        "keepAlive is on by default: a TTL node lives while its registry is open and expires once it closes " +
        "(tested in etcd-registry.integration.test.ts, with keepAlive on and off)",
      tests: ["a node registered with ttlMs expires and a delete event is sent"],
    },
  ],
});
