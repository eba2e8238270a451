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
    stdio: ["ignore", "pipe", "pipe"],
  });
  // Its logs pass through; the last line is kept for the error if it dies.
  let lastErr = "";
  child.stderr.on("data", (d: Buffer) => {
    process.stderr.write(d);
    const lines = d.toString().trim().split("\n");
    lastErr = lines[lines.length - 1] ?? lastErr;
  });
  const died = (when: string, code: number | null, signal: NodeJS.Signals | null) =>
    `Go server exited (${signal ?? code}) ${when} printing its address${lastErr ? `: ${lastErr}` : ""}`;
  const address = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("Go server printed no address within 15 s")), 15_000);
    child.once("error", reject);
    child.once("exit", (code, signal) => reject(new Error(died("before", code, signal))));
    createInterface({ input: child.stdout }).once("line", (line) => {
      clearTimeout(t);
      resolve(line.trim());
    });
  });
  const expected = args.transport === "nats" ? /^[A-Za-z0-9_.-]+$/ : /^127\.0\.0\.1:\d+$/;
  if (!expected.test(address))
    throw new Error(`Go server address is not a loopback address or subject: ${address}`);
  // A server that dies after printing its address is reported as such, not as a missing /proc entry.
  let exited: string | undefined;
  child.on("exit", (code, signal) => {
    exited = died("after", code, signal);
  });
  const pid = child.pid ?? 0;
  return {
    address,
    usage: () => (exited === undefined ? procUsage(pid) : Promise.reject(new Error(exited))),
    async close() {
      child.kill("SIGTERM");
    },
  };
});
