import { runClient } from "../../lib/client-harness.js";
import { startBenchServer } from "./bench-server.js";
import { microtsDriver } from "./driver.js";
import { stackParts, type Variant } from "./stack.js";

// Server and client in ONE process over the memory transport: client and server CPU are both
// counted as the client's.
runClient(async ({ args }) => {
  const parts = await stackParts((args.variant as Variant | undefined) ?? "memory");
  const { server, address } = await startBenchServer(parts);
  const driver = await microtsDriver(parts, address);
  return {
    ...driver,
    async close() {
      await server.stop({ timeoutMs: 2_000 });
      await driver.close();
    },
  };
});
