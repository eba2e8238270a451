// The measured or the peer server of `run.sh`: Bench.Echo over the chosen transport, its address on
// stdout. PROPAGATE=1 turns context propagation on, as a process with a client has it.
import { createMemoryRegistry, createServer, propagateContext, silentLogger } from "@microts/core";
import { createHttpTransport } from "@microts/http";
import { createTcpTransport } from "@microts/tcp";

if (process.env.PROPAGATE === "1") propagateContext();
class Bench {
  async echo(req) {
    return { data: req.data };
  }
}
const server = createServer({
  name: "bench",
  registry: createMemoryRegistry(),
  transport: process.env.TRANSPORT === "http" ? createHttpTransport() : createTcpTransport(),
  logger: silentLogger,
});
server.handle(new Bench());
await server.start();
console.log(server.address);
process.on("SIGTERM", () => process.exit(0));
