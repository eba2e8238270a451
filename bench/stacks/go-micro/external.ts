/** The reason the Go Micro stacks are unavailable, or undefined when both binaries are configured. */
export function goMicroUnavailable(): string | undefined {
  if (!process.env.GO_MICRO_BENCH_SERVER || !process.env.GO_MICRO_BENCH_CLIENT) {
    return "Go Micro cannot be fetched here (module proxy refuses go-micro.dev); set GO_MICRO_BENCH_SERVER and GO_MICRO_BENCH_CLIENT to externally built binaries (see README)";
  }
  return undefined;
}

/** The NATS server the Go Micro NATS stack uses: the shared one, as for the micro-ts NATS stacks. */
const NATS_URL = "nats://127.0.0.1:4222";

/** Flags choosing the Go programs' transport: none for the default HTTP transport. */
export function transportFlags(args: Record<string, unknown>): string[] {
  return args.transport === "nats" ? ["--transport", "nats", "--nats_address", NATS_URL] : [];
}
