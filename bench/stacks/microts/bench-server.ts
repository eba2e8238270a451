import { createMemoryRegistry, createServer, type Server, silentLogger } from "@microts/core";
import { Bench } from "./handler.js";
import type { StackParts } from "./stack.js";

/** Starts the benchmark service (`Bench.Echo`, `Bench.Stream`) on a variant's transport and codec. */
export async function startBenchServer(parts: StackParts): Promise<{ server: Server; address: string }> {
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
  return { server, address };
}
