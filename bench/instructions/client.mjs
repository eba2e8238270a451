// The calling side of `run.sh`: CONCURRENCY concurrent callers (default 64), WARM calls of warm-up, then CALLS calls
// during which callgrind counts instructions in the process `MEASURE_PID` (this one or the server).
import { execFileSync } from "node:child_process";
import { createClient, createMemoryRegistry, silentLogger } from "@microts/core";
import { createHttpTransport } from "@microts/http";
import { createTcpTransport } from "@microts/tcp";

const address = process.argv[2];
const measured = process.env.MEASURE_PID === "self" ? String(process.pid) : process.env.MEASURE_PID;
const client = createClient({
  transport: process.env.TRANSPORT === "http" ? createHttpTransport() : createTcpTransport(),
  registry: createMemoryRegistry(),
  logger: silentLogger,
});
const request = { data: "x".repeat(Number(process.env.PAYLOAD ?? 1024)) };
const options = { address, timeoutMs: 600_000 };
const run = async (calls) => {
  let issued = 0;
  const caller = async () => {
    while (issued < calls) {
      issued++;
      await client.call("bench", "Bench.Echo", request, options);
    }
  };
  await Promise.all(Array.from({ length: Number(process.env.CONCURRENCY ?? 64) }, caller));
};
await run(Number(process.env.WARM));
execFileSync("callgrind_control", ["--instr=on", measured], { stdio: "ignore" });
await run(Number(process.env.CALLS));
execFileSync("callgrind_control", ["--instr=off", measured], { stdio: "ignore" });
await client.close();
process.exit(0);
