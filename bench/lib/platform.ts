import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { arch, cpus, loadavg, platform, release, totalmem } from "node:os";
import { join } from "node:path";
import { BENCH_DIR } from "./proc.js";

/** Where and with what the suite ran. */
export interface PlatformInfo {
  node: string;
  os: string;
  cpu: string;
  cores: number;
  memoryGiB: number;
  loadAverage: number[];
  natsServer: string;
  commit: string;
  versions: Record<string, string>;
}

const PACKAGES = [
  "@microts/core",
  "@microts/http",
  "@microts/tcp",
  "@microts/nats",
  "@microts/protobuf",
  "moleculer",
  "@nestjs/microservices",
  "@grpc/grpc-js",
  "@grpc/proto-loader",
  "nats",
  "@nats-io/transport-node",
  "tsx",
];

function packageVersion(name: string): string {
  for (const base of [join(BENCH_DIR, "node_modules"), join(BENCH_DIR, "..", "node_modules")]) {
    const p = join(base, name, "package.json");
    if (existsSync(p)) return (JSON.parse(readFileSync(p, "utf8")) as { version?: string }).version ?? "?";
  }
  return "not installed";
}

function run(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, {
      encoding: "utf8",
      timeout: 5_000,
      stdio: ["ignore", "pipe", "pipe"],
    }).trim();
  } catch {
    return "unknown";
  }
}

/** Collects platform facts and package versions. */
export function platformInfo(): PlatformInfo {
  const c = cpus();
  const dirty = run("git", ["-C", BENCH_DIR, "status", "--porcelain"]);
  return {
    node: process.version,
    os: `${platform()} ${release()} ${arch()}`,
    cpu: c[0]?.model.trim() ?? "unknown",
    cores: c.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
    natsServer: run("nats-server", ["--version"]).replace(/^nats-server:\s*/, ""),
    commit: `${run("git", ["-C", BENCH_DIR, "rev-parse", "--short", "HEAD"])}${dirty && dirty !== "unknown" ? " (uncommitted changes)" : ""}`,
    versions: Object.fromEntries(PACKAGES.map((p) => [p, packageVersion(p)])),
  };
}
