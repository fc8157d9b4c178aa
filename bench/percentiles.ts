// Percentiles over raw samples. The bench keeps every sample instead of using autocannon's
// histogram, which records whole milliseconds: too coarse for sub-millisecond localhost latencies.

export interface Spread {
  p50: number
  p99: number
  count: number
}

/** Nearest-rank percentile of ascending samples. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!
}

export function spread(samples: readonly number[]): Spread {
  // A typed array sorts numerically and fast, without a comparator.
  const sorted = Float64Array.from(samples).sort()
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), count: sorted.length }
}
