import { runServer } from "../../lib/server-harness.js";
import { startBenchServer } from "./bench-server.js";
import { stackParts, type Variant } from "./stack.js";

// A micro-ts server (createServer) on the variant's transport, serving Bench.Echo and Bench.Stream.
runServer(async ({ args }) => {
  const parts = await stackParts(args.variant as Variant);
  const { server, address } = await startBenchServer(parts);
  return {
    address,
    async close() {
      await server.stop({ timeoutMs: 2_000 });
      await parts.transport.close();
    },
  };
});
