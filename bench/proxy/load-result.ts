/** What one run of a load generator measured, whichever generator it was. */
export interface LoadResult {
  /** Requests answered with 2xx or 3xx. */
  readonly requests: number;
  readonly durationS: number;
  readonly p50Us: number;
  readonly p99Us: number;
  /** Connect, read, write errors, timeouts and other statuses. */
  readonly errors: number;
}

export function requestsPerSecond(r: LoadResult): number {
  return r.durationS > 0 ? r.requests / r.durationS : 0;
}

/** The p-th percentile (0 < p <= 100) of ascending values, nearest rank. */
export function percentileOfSorted(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** The median of a few numbers (the rounds of one measurement); NaN for none. */
export function median(values: readonly number[]): number {
  const finite = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (finite.length === 0) return NaN;
  const mid = finite.length >> 1;
  return finite.length % 2 === 1 ? finite[mid]! : (finite[mid - 1]! + finite[mid]!) / 2;
}
