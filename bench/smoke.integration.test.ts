// CI's check of the benchmark suite: every stack starts, answers once and stops (`--smoke`).
// It asserts no timing: only that each stack line is "ok" or "unavailable: <reason>".
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const BENCH = fileURLToPath(new URL(".", import.meta.url));

function runSmoke(timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--conditions=@microts/source", "--import", "tsx", "run.ts", "--smoke"],
      {
        cwd: BENCH,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(
        new Error(`smoke mode did not finish within ${timeoutMs} ms\n${stdout}\n${stderr.slice(-2000)}`),
      );
    }, timeoutMs);
    child.on("error", reject);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

test("bench --smoke: every stack starts and answers, or says why it is unavailable", {
  timeout: 100_000,
}, async () => {
  const { code, stdout, stderr } = await runSmoke(90_000);
  const lines = stdout.split("\n").filter((l) => /^smoke \S/.test(l));
  assert.ok(lines.length >= 10, `expected a line per stack, got:\n${stdout}\n${stderr.slice(-2000)}`);
  for (const line of lines) {
    assert.match(line, /^smoke \S.*: (ok \(.*\)|unavailable: .+)$/, line);
  }
  for (const stack of [
    "raw-tcp",
    "micro-ts-http",
    "micro-ts-nats",
    "micro-ts-memory",
    "micro-ts-nats-broker",
  ]) {
    assert.ok(
      lines.some((l) => l.startsWith(`smoke ${stack}: ok`)),
      `${stack} should answer:\n${lines.join("\n")}`,
    );
  }
  assert.match(stdout, /^smoke: \d+ ok, \d+ unavailable, 0 failed in /m);
  assert.equal(code, 0, stderr.slice(-2000));
});
