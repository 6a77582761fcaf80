/**
 * The environment knobs of bench:proxy, read once:
 *
 * - BENCH_DURATION: seconds per measured run (default 10)
 * - BENCH_ROUNDS: times every target is measured at every load, alternating targets (default 2)
 * - BENCH_ONLY: comma-separated targets (default all); ratios need `haproxy` among them
 * - BENCH_LOADS: comma-separated loads, h1-1, h1-64, h2-64 (default all)
 * - BENCH_IDLE_CONNECTIONS: connections of the idle memory test (default 10000; 0 skips it)
 * - BENCH_HOT_KEY: 0 skips the hot-key test
 */
import { integerSetting, subsetSetting } from '../common/env.js';
import type { LoadName } from './scenario.js';
import { IDLE_CONNECTIONS, LOADS } from './scenario.js';
import type { TargetName } from './targets.js';
import { TARGET_NAMES } from './targets.js';

export interface BenchSettings {
  readonly durationS: number;
  readonly rounds: number;
  readonly targets: readonly TargetName[];
  readonly loads: readonly LoadName[];
  readonly idleConnections: number;
  readonly hotKey: boolean;
}

export function readSettings(env: NodeJS.ProcessEnv): BenchSettings {
  return {
    durationS: integerSetting(env, 'BENCH_DURATION', 10, 1),
    rounds: integerSetting(env, 'BENCH_ROUNDS', 2, 1),
    targets: subsetSetting(env, 'BENCH_ONLY', TARGET_NAMES),
    loads: subsetSetting(
      env,
      'BENCH_LOADS',
      LOADS.map((l) => l.name),
    ),
    idleConnections: integerSetting(env, 'BENCH_IDLE_CONNECTIONS', IDLE_CONNECTIONS, 0),
    hotKey: env.BENCH_HOT_KEY !== '0',
  };
}
