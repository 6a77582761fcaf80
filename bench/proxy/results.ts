/**
 * The numbers bench:proxy reports: each measured run, its rounds combined by the median, and the
 * rows of the idle-connections and hot-key tests.
 */
import { median } from './load-result.js';
import type { BalanceMode, LoadName } from './scenario.js';
import type { TargetName } from './targets.js';

/** One run of one target at one load: the generator's numbers and the proxy's own cost. */
export interface RunSample {
  readonly rps: number;
  readonly p50Us: number;
  readonly p99Us: number;
  /** utime + stime of the proxy's processes over the run, per request answered. */
  readonly cpuUsPerRequest: number;
  /** Largest VmRSS sum of the proxy's processes seen during the run. */
  readonly rssBytes: number;
  readonly errors: number;
}

export interface Aggregate extends RunSample {
  readonly rounds: number;
  /** (max - min) / median of req/s over the rounds: how far to trust a small difference. */
  readonly rpsSpread: number;
}

/** Medians over the rounds; errors are summed. */
export function aggregate(samples: readonly RunSample[]): Aggregate {
  if (samples.length === 0) throw new RangeError('aggregate of no samples');
  const of = (f: (s: RunSample) => number): number => median(samples.map(f));
  const rps = samples.map((s) => s.rps);
  const mid = median(rps);
  return {
    rps: mid,
    p50Us: of((s) => s.p50Us),
    p99Us: of((s) => s.p99Us),
    cpuUsPerRequest: of((s) => s.cpuUsPerRequest),
    rssBytes: of((s) => s.rssBytes),
    errors: samples.reduce((a, s) => a + s.errors, 0),
    rounds: samples.length,
    rpsSpread: mid > 0 ? (Math.max(...rps) - Math.min(...rps)) / mid : 0,
  };
}

export interface MainRow {
  readonly target: TargetName;
  readonly mode: BalanceMode;
  readonly load: LoadName;
  /** null when the target could not be measured at this load; `note` says why. */
  readonly result: Aggregate | null;
  readonly note: string | null;
}

export interface IdleRow {
  readonly target: TargetName;
  readonly rssBeforeBytes: number;
  readonly rssWithBytes: number;
  /** Connections the client held open when the RSS was read. */
  readonly open: number;
  readonly failed: number;
  /** Of those, closed by the proxy before the client closed them. */
  readonly dropped: number;
  readonly note: string | null;
}

export interface HotKeyRow {
  readonly target: TargetName;
  /** Peak requests in flight on each pod, pod-0 first. */
  readonly peaks: readonly number[];
  readonly requests: readonly number[];
  readonly errors: number;
  readonly note: string | null;
}

/** The main-table row of a target at a mode and load, if it was measured. */
export function findRow(rows: readonly MainRow[], target: TargetName, mode: BalanceMode, load: LoadName): MainRow | undefined {
  return rows.find((r) => r.target === target && r.mode === mode && r.load === load);
}
