import { rpcContract } from "@microts/testing";
import { createMemoryTransport } from "./memory-transport.js";

// Server and client must share one in-process network: `create` hands out the same transport.
const transport = createMemoryTransport();
rpcContract("memory", { create: () => transport, listenAddress: ":0" });
