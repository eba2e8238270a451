import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { procUsage } from "../../lib/proc-stat.js";
import { runServer } from "../../lib/server-harness.js";

// Runs the externally built Go Micro server ($GO_MICRO_BENCH_SERVER): it must listen on the
// loopback address it is given and print that address (host:port) as its first stdout line.
runServer(async () => {
  const bin = process.env.GO_MICRO_BENCH_SERVER;
  if (!bin) throw new Error("GO_MICRO_BENCH_SERVER is not set");
  const child = spawn(bin, ["--address", "127.0.0.1:0"], { stdio: ["ignore", "pipe", "inherit"] });
  const address = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("Go server printed no address within 15 s")), 15_000);
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`Go server exited (${code})`)));
    createInterface({ input: child.stdout }).once("line", (line) => {
      clearTimeout(t);
      resolve(line.trim());
    });
  });
  if (!/^127\.0\.0\.1:\d+$/.test(address)) throw new Error(`Go server address is not loopback: ${address}`);
  const pid = child.pid ?? 0;
  return {
    address,
    usage: () => procUsage(pid),
    async close() {
      child.kill("SIGTERM");
    },
  };
});
