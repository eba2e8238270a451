import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { procUsage } from "../../lib/proc-stat.js";
import { runServer } from "../../lib/server-harness.js";
import { transportFlags } from "./external.js";

// Runs the externally built Go Micro server ($GO_MICRO_BENCH_SERVER): it must listen on the
// loopback address it is given and print its address as its first stdout line: host:port on the
// HTTP transport, the subject it listens on with `--transport nats`.
runServer(async ({ args }) => {
  const bin = process.env.GO_MICRO_BENCH_SERVER;
  if (!bin) throw new Error("GO_MICRO_BENCH_SERVER is not set");
  const child = spawn(bin, ["--address", "127.0.0.1:0", ...transportFlags(args)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const address = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("Go server printed no address within 15 s")), 15_000);
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`Go server exited (${code})`)));
    createInterface({ input: child.stdout }).once("line", (line) => {
      clearTimeout(t);
      resolve(line.trim());
    });
  });
  const expected = args.transport === "nats" ? /^[A-Za-z0-9_.-]+$/ : /^127\.0\.0\.1:\d+$/;
  if (!expected.test(address))
    throw new Error(`Go server address is not a loopback address or subject: ${address}`);
  const pid = child.pid ?? 0;
  return {
    address,
    usage: () => procUsage(pid),
    async close() {
      child.kill("SIGTERM");
    },
  };
});
