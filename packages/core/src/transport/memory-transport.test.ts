import { transportContract } from "@microts/testing";
import { createMemoryTransport } from "./memory-transport.js";

transportContract("memory", {
  create: () => createMemoryTransport(),
  listenAddress: ":0",
  skip: [
    {
      reason: "the memory socket has no tryRecv (it is optional)",
      tests: ["tryRecv takes messages already queued, in order, mixed with recv"],
    },
  ],
});
