import { transportContract } from "@microts/testing";
import { createMemoryTransport } from "./memory-transport.js";

transportContract("memory", {
  create: () => createMemoryTransport(),
  listenAddress: ":0",
});
