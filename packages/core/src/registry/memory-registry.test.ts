import { registryContract } from "@microts/testing";
import { createMemoryRegistry } from "./memory-registry.js";

// Clients of one in-process registry are the one shared instance.
const shared = createMemoryRegistry();

registryContract("memory", { create: () => shared });
