import { type Context, createMemoryRegistry, createService, MicroError, silentLogger } from "@microts/core";
import { createHttpBroker, createHttpTransport } from "@microts/http";
import { runServer } from "../../lib/server-harness.js";

/** The greeter of examples/greeter, repeated here so that this file bundles on its own. */
class Greeter {
  async hello(req: { name: string }, _ctx: Context): Promise<{ msg: string }> {
    if (!req.name) throw MicroError.badRequest("greeter", "name is required");
    return { msg: `Hello ${req.name}` };
  }
  async *count(req: { n: number }, ctx: Context): AsyncGenerator<{ i: number }> {
    for (let i = 0; i < Math.min(req.n, 1_000_000) && !ctx.signal.aborted; i++) yield { i };
  }
}

// An idle greeter service on the default network stack (HTTP transport, HTTP broker with one
// subscription); a memory registry stands in for mDNS, which would not stay on loopback. The
// orchestrator bundles this file with esbuild and runs it on plain node (no tsx loader), so the
// resident size is what a deployed service would have.
runServer(async () => {
  const registry = createMemoryRegistry();
  const service = createService({
    name: "greeter",
    version: "1.0.0",
    registry,
    transport: createHttpTransport(),
    broker: createHttpBroker({ registry, logger: silentLogger }),
    logger: silentLogger,
  });
  service.handle(new Greeter());
  service.subscribe("user.created", async () => {}, { queue: "greeter" });
  await service.start({ timeoutMs: 10_000 });
  return {
    address: service.server.address ?? "",
    async close() {
      await service.stop({ timeoutMs: 2_000 });
    },
  };
});
