import { createMemoryRegistry, silentLogger } from "@microts/core";
import { brokerContract, transportContract } from "@microts/testing";
import { createHttpBroker } from "./http-broker.js";
import { createHttpTransport } from "./http-transport.js";

transportContract("http", { create: () => createHttpTransport(), listenAddress: "127.0.0.1:0" });

const sharedMemoryRegistry = createMemoryRegistry();
brokerContract("http", {
  create: () => createHttpBroker({ registry: sharedMemoryRegistry, logger: silentLogger }),
});
