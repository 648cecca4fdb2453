/** Latency summary of one run, in milliseconds. */
export interface LatencySummary {
  p50: number;
  p99: number;
  mean: number;
}

/**
 * Nearest-rank percentiles over the recorded samples. Sorting a copy of a
 * few hundred thousand doubles takes milliseconds, so no histogram is needed.
 */
export function summarize(samples: Float64Array): LatencySummary {
  if (samples.length === 0) return { p50: 0, p99: 0, mean: 0 };
  const sorted = Float64Array.from(samples).sort();
  let sum = 0;
  for (const value of sorted) sum += value;
  return { p50: rank(sorted, 0.5), p99: rank(sorted, 0.99), mean: sum / sorted.length };
}

function rank(sorted: Float64Array, quantile: number): number {
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(quantile * sorted.length) - 1));
  return sorted[index] ?? 0;
}
