import { brokerContract } from "@microts/testing";
import { createMemoryBroker } from "./memory-broker.js";

// Services share one memory broker instance, so every "client" is that instance.
const shared = createMemoryBroker();

brokerContract("memory", { create: () => shared });
