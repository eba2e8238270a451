/**
 * A fixed-size latency histogram in the spirit of HdrHistogram: values (nanoseconds) fall into
 * log-linear buckets with 64 sub-buckets per power of two, so any recorded value is known to within
 * 1/64 (~1.6 %). Recording is one index computation and one increment; nothing is allocated.
 */
export class Histogram {
  /** Values below 128 ns are exact; 26 more magnitudes reach 2^32 ns (~4.3 s); above is clamped. */
  private readonly counts = new Float64Array(28 * 64);
  private total = 0;
  private maxValue = 0;

  /** Records one latency in nanoseconds (negative values count as 0, values above ~4.3 s are clamped). */
  record(ns: number): void {
    const v = ns <= 0 ? 0 : ns >= 0xffffffff ? 0xffffffff : Math.floor(ns);
    const bits = 32 - Math.clz32(v);
    const m = bits > 7 ? bits - 7 : 0;
    const idx = m === 0 ? v : m * 64 + (v >>> m);
    this.counts[idx] = (this.counts[idx] ?? 0) + 1;
    this.total++;
    if (v > this.maxValue) this.maxValue = v;
  }

  get count(): number {
    return this.total;
  }

  get max(): number {
    return this.maxValue;
  }

  /** The value (ns, bucket midpoint) below which `q` (0..1) of the recorded values fall; 0 when empty. */
  quantile(q: number): number {
    if (this.total === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.total));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i] ?? 0;
      if (seen >= rank) return bucketMid(i);
    }
    return this.maxValue;
  }

  reset(): void {
    this.counts.fill(0);
    this.total = 0;
    this.maxValue = 0;
  }
}

function bucketMid(idx: number): number {
  if (idx < 128) return idx;
  const m = Math.floor(idx / 64) - 1;
  const mantissa = idx - m * 64;
  return mantissa * 2 ** m + 2 ** (m - 1);
}
