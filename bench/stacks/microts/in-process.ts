import { createMemoryRegistry, createServer, silentLogger } from "@microts/core";
import { runClient } from "../../lib/client-harness.js";
import { microtsDriver } from "./driver.js";
import { Bench } from "./handler.js";
import { stackParts, type Variant } from "./stack.js";

// Server and client in ONE process over the memory transport: client and server CPU are both
// counted as the client's.
runClient(async ({ args }) => {
  const parts = await stackParts((args.variant as Variant | undefined) ?? "memory");
  const server = createServer({
    name: "bench",
    registry: createMemoryRegistry(),
    transport: parts.transport,
    codecs: parts.codecs,
    logger: silentLogger,
  });
  server.handle(new Bench(), { endpoints: parts.endpoints });
  await server.start();
  const driver = await microtsDriver(parts, server.address ?? "");
  return {
    ...driver,
    async close() {
      await server.stop({ timeoutMs: 2_000 });
      await driver.close();
    },
  };
});
