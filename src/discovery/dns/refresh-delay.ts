/**
 * When a DNS source resolves again. After an answer: when its shortest TTL runs out, so a change
 * is seen as soon as the server would tell a cache, but never sooner than `minMs` (a TTL of 0 must
 * not become a query loop) nor later than `maxMs` (a long TTL must not hide a pod restart for an
 * hour). After a failure: `minMs`, doubling with each failure in a row, up to `maxMs`.
 */
import { ConfigError } from '../../errors.js';

export interface RefreshBounds {
  readonly minMs: number;
  readonly maxMs: number;
}

export const DEFAULT_REFRESH_BOUNDS: RefreshBounds = { minMs: 1_000, maxMs: 30_000 };

/**
 * @throws ConfigError naming `${field}.minMs` or `${field}.maxMs` when a bound is not a positive
 * integer or the minimum is above the maximum
 */
export function checkRefreshBounds(bounds: RefreshBounds, field = 'dnsRefresh'): RefreshBounds {
  for (const key of ['minMs', 'maxMs'] as const) {
    const v = bounds[key];
    if (!Number.isInteger(v) || v < 1) throw new ConfigError('SG_ERR_CONFIG', `${field}.${key}`, `is ${String(v)}: use a whole number of milliseconds, at least 1`);
  }
  if (bounds.minMs > bounds.maxMs) {
    throw new ConfigError('SG_ERR_CONFIG', `${field}.minMs`, `is ${bounds.minMs}, above ${field}.maxMs (${bounds.maxMs}): the lower bound on the re-resolution interval must not exceed the upper`);
  }
  return bounds;
}

/** The wait after a good answer whose shortest TTL is `ttlSeconds` (null: unknown, wait `maxMs`). */
export function delayAfterAnswerMs(ttlSeconds: number | null, bounds: RefreshBounds): number {
  if (ttlSeconds === null) return bounds.maxMs;
  return Math.min(bounds.maxMs, Math.max(bounds.minMs, ttlSeconds * 1_000));
}

/** The wait after the `failures`-th failure in a row (1 for the first). */
export function delayAfterFailureMs(failures: number, bounds: RefreshBounds): number {
  const doublings = Math.min(Math.max(failures - 1, 0), 30);
  return Math.min(bounds.maxMs, bounds.minMs * 2 ** doublings);
}
