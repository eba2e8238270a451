import { execFile } from "node:child_process";
import { runClient } from "../../lib/client-harness.js";
import type { RoundResult } from "../../lib/protocol.js";
import { transportFlags } from "./external.js";

/** What $GO_MICRO_BENCH_CLIENT prints: one JSON object on stdout. */
interface GoClientResult {
  requests: number;
  errors: number;
  seconds: number;
  p50_us: number;
  p99_us: number;
  cpu_us: number;
}

// Each unary round runs the externally built Go Micro client ($GO_MICRO_BENCH_CLIENT) once:
//   <bin> --address ADDRESS --concurrency N --seconds S --payload BYTES [--transport nats --nats_address URL]
runClient(async ({ address, args: stackArgs }) => {
  const bin = process.env.GO_MICRO_BENCH_CLIENT;
  if (!bin) throw new Error("GO_MICRO_BENCH_CLIENT is not set");
  return {
    unaryRound(job): Promise<RoundResult> {
      const args = ["--address", address, "--concurrency", String(job.concurrency)];
      args.push("--seconds", String(job.durationMs / 1000), "--payload", String(job.payloadBytes));
      args.push(...transportFlags(stackArgs));
      return new Promise((resolve, reject) => {
        execFile(bin, args, { timeout: job.durationMs + 15_000 }, (err, stdout) => {
          if (err) return reject(err);
          try {
            const r = JSON.parse(stdout.trim().split("\n").pop() ?? "") as GoClientResult;
            resolve({
              count: r.requests,
              errors: r.errors,
              elapsedNs: r.seconds * 1e9,
              cpuUs: r.cpu_us,
              p50Ns: r.p50_us * 1000,
              p99Ns: r.p99_us * 1000,
            });
          } catch (e) {
            reject(new Error(`Go client printed no JSON result: ${String(e)}`));
          }
        });
      });
    },
    async close() {},
  };
});
