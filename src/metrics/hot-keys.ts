/**
 * The hot keys as they are shown: `GET /v1/hot-keys` on the admin listener and the
 * `shardgate_hot_key_rate` gauge, merged over the process's threads.
 *
 * Each thread keeps its own sketch (hot-key-sketch.ts) over the requests it routed; merging adds
 * the counts of a key across threads (Space-Saving summaries merge by addition, their error bounds
 * adding up too: Agarwal et al., "Mergeable Summaries", PODS 2012) and the totals, then takes the
 * highest. A rate is a decayed count over the decay's time constant (requests per second over
 * about the last `windowS` seconds); a share is of every keyed request in the same window.
 *
 * Rates and shares are the sketch's guaranteed part, count - error: a lower bound of the key's
 * true decayed count (count alone is an upper bound). Under many cold keys the counters at the
 * bottom change hands often and inherit counts that were never theirs; reporting the lower bound
 * keeps them from showing as warm, and keys with nothing guaranteed are left out. A hot key's error
 * is small beside its count.
 */
import type { HotKeyCount } from './hot-key-sketch.js';

/** The JSON of `GET /v1/hot-keys`. */
export interface HotKeysReport {
  readonly windowS: number;
  /** Highest rate first; at most MAX_HOT_KEYS. */
  readonly keys: readonly HotKey[];
}

export interface HotKey {
  readonly key: string;
  /** Requests per second, decayed. */
  readonly rate: number;
  /** Of keyed requests. */
  readonly share: number;
  readonly endpoint: string | null;
}

/** One thread's sketch, as it crosses to the thread that answers. */
export interface HotKeysPart {
  readonly windowS: number;
  /** Decayed weight of every keyed request the thread counted. */
  readonly total: number;
  readonly keys: readonly HotKeyCount[];
}

export const MAX_HOT_KEYS = 20;
/** Keys exported as metric series. */
export const HOT_KEY_SERIES = 10;
/** Longest key text used as a label value as it is; longer ones are cut and tagged with their hash. */
export const MAX_KEY_LABEL = 64;

/** The `n` hottest keys over every thread's part, highest rate first. */
export function mergeHotKeys(parts: readonly HotKeysPart[], n: number = MAX_HOT_KEYS): HotKeysReport {
  let windowS = 0;
  let total = 0;
  const byKey = new Map<string, { key: string; count: number; rate: number; endpoint: string | null; best: number }>();
  for (const part of parts) {
    windowS = Math.max(windowS, part.windowS);
    total += part.total;
    for (const k of part.keys) {
      const count = k.count - k.error;
      if (!(count > 0)) continue;
      // Each thread's count over its own window: threads started a moment apart.
      const rate = part.windowS > 0 ? count / part.windowS : 0;
      const id = `${k.hi}:${k.lo}`;
      const e = byKey.get(id);
      if (e === undefined) byKey.set(id, { key: k.key, count, rate, endpoint: k.endpoint, best: count });
      else {
        e.count += count;
        e.rate += rate;
        // The endpoint seen by the thread that routed the key most.
        if (count > e.best) {
          e.best = count;
          e.endpoint = k.endpoint;
        }
      }
    }
  }
  const sorted = [...byKey.values()].sort((a, b) => b.count - a.count).slice(0, Math.min(n, MAX_HOT_KEYS));
  return {
    windowS: round(windowS),
    keys: sorted.map((e) => ({ key: e.key, rate: round(e.rate), share: round(total > 0 ? e.count / total : 0), endpoint: e.endpoint })),
  };
}

/**
 * A key as a label value: as it is up to MAX_KEY_LABEL characters, so that an operator reads the
 * key a pod knows; longer keys (a JSON path into a body, a URL) are cut to their first 48
 * characters plus `~` and 8 hex digits of their hash, which keeps the label short and two long keys
 * with one prefix apart. Only the top HOT_KEY_SERIES keys become series, so the label's values are
 * bounded by that count at any time.
 */
export function hotKeyLabel(key: string, lo: number): string {
  if (key.length <= MAX_KEY_LABEL) return key;
  return `${key.slice(0, 48)}~${(lo >>> 0).toString(16).padStart(8, '0')}`;
}

function round(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}
