const units: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * Parses a Go duration (`1m30s`, `500ms`, `2h`) to milliseconds. A bare number is taken in
 * `bareUnitMs` (seconds by default, as Go Micro's integer flags like `register_ttl`).
 * Returns undefined for text that is neither.
 */
export function parseDuration(text: string, bareUnitMs = 1000): number | undefined {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t) * bareUnitMs;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(t); m; m = re.exec(t)) {
    total += Number(m[1]) * (units[m[2] as string] as number);
    matched = re.lastIndex;
  }
  return matched === t.length && matched > 0 ? total : undefined;
}
