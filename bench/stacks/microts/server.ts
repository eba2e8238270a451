import { createMemoryRegistry, createServer, silentLogger } from "@microts/core";
import { runServer } from "../../lib/server-harness.js";
import { Bench } from "./handler.js";
import { stackParts, type Variant } from "./stack.js";

// A micro-ts server (createServer) on the variant's transport, serving Bench.Echo and Bench.Stream.
runServer(async ({ args }) => {
  const parts = await stackParts(args.variant as Variant);
  const server = createServer({
    name: "bench",
    registry: createMemoryRegistry(),
    transport: parts.transport,
    codecs: parts.codecs,
    logger: silentLogger,
  });
  server.handle(new Bench(), { endpoints: parts.endpoints });
  await server.start();
  const address = server.address;
  if (!address) throw new Error("server has no address after start");
  return {
    address,
    async close() {
      await server.stop({ timeoutMs: 2_000 });
      await parts.transport.close();
    },
  };
});
