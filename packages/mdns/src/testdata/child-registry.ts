/**
 * A registry in a separate process, for the cross-process tests. Run with
 * `node --conditions=@microts/source --import tsx child-registry.ts <mode> <service>`:
 * - `serve`: registers `<service>` (node `<service>-child` at 127.0.0.1:7001), prints `ready`,
 *   and on stdin EOF deregisters, closes and exits;
 * - `find`: looks `<service>` up for at most 5 s and prints the result as JSON (or `notfound`).
 */
import { createMdnsRegistry } from "../mdns-registry.js";

const [mode, name] = process.argv.slice(2);
if (!name) throw new Error("usage: child-registry.ts serve|find <service>");
const registry = createMdnsRegistry();
// Never outlive the test that started us.
setTimeout(() => process.exit(3), 20_000).unref();

if (mode === "serve") {
  await registry.register({
    name,
    version: "child-1",
    endpoints: [{ name: "Child.Ping", metadata: {} }],
    nodes: [{ id: `${name}-child`, address: "127.0.0.1:7001", metadata: { pid: String(process.pid) } }],
  });
  process.stdout.write("ready\n");
  process.stdin.resume();
  process.stdin.on("end", async () => {
    await registry.close(); // goodbye
    process.exit(0);
  });
} else {
  const deadline = Date.now() + 5_000;
  let out = "notfound";
  while (Date.now() < deadline) {
    try {
      out = JSON.stringify(await registry.getService(name));
      break;
    } catch {
      // not yet
    }
  }
  process.stdout.write(`${out}\n`);
  await registry.close();
}
