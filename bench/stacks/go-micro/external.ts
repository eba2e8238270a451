/** The reason the Go Micro stack is unavailable, or undefined when both binaries are configured. */
export function goMicroUnavailable(): string | undefined {
  if (!process.env.GO_MICRO_BENCH_SERVER || !process.env.GO_MICRO_BENCH_CLIENT) {
    return "Go Micro cannot be fetched here (module proxy refuses go-micro.dev); set GO_MICRO_BENCH_SERVER and GO_MICRO_BENCH_CLIENT to externally built binaries (see README)";
  }
  return undefined;
}
