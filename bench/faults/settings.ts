/**
 * The environment knobs of bench:faults, read once:
 *
 * - BENCH_FAULTS_ONLY: comma-separated scenarios (default all; see SCENARIO_NAMES)
 * - BENCH_FAULTS_TARGETS: shardgate, haproxy or both (default both)
 * - BENCH_FAULTS_DURATION: seconds of load per scenario (default 4)
 * - BENCH_FAULTS_CONCURRENCY: requests the load keeps in flight (default 32)
 * - BENCH_FAULTS_RELOADS: configuration reloads (default 100)
 * - BENCH_FAULTS_RELOAD_INTERVAL_MS: time between reloads (default 50)
 * - BENCH_FAULTS_SLOWLORIS: slowloris connections (default 2000)
 * - BENCH_FAULTS_STALLED: stalled request bodies (default 200)
 * - BENCH_FAULTS_STALL_WAIT: seconds the stalled connections get to be closed (default 45)
 * - BENCH_FAULTS_UPLOAD_MB: the upload to a slow pod (default 150)
 * - BENCH_FAULTS_DOWNLOAD_MB: the download to a slow reader (default 100)
 * - BENCH_FAULTS_SLOW_MBPS: how fast the slow pod and the slow reader read, MB/s (default 25)
 */
import { integerSetting, subsetSetting } from '../common/env.js';
import type { ScenarioName } from './scenario-names.js';
import { SCENARIO_NAMES } from './scenario-names.js';
import type { FaultTargetName } from './targets.js';
import { FAULT_TARGETS } from './targets.js';

export interface FaultSettings {
  readonly scenarios: readonly ScenarioName[];
  readonly targets: readonly FaultTargetName[];
  readonly durationS: number;
  readonly concurrency: number;
  readonly reloads: number;
  readonly reloadIntervalMs: number;
  readonly slowlorisConnections: number;
  readonly stalledBodies: number;
  readonly stallWaitS: number;
  readonly uploadBytes: number;
  readonly downloadBytes: number;
  readonly slowBytesPerS: number;
}

const MB = 1e6;

export function readFaultSettings(env: NodeJS.ProcessEnv): FaultSettings {
  return {
    scenarios: subsetSetting(env, 'BENCH_FAULTS_ONLY', SCENARIO_NAMES),
    targets: subsetSetting(env, 'BENCH_FAULTS_TARGETS', FAULT_TARGETS),
    durationS: integerSetting(env, 'BENCH_FAULTS_DURATION', 4, 1),
    concurrency: integerSetting(env, 'BENCH_FAULTS_CONCURRENCY', 32, 1),
    reloads: integerSetting(env, 'BENCH_FAULTS_RELOADS', 100, 1),
    reloadIntervalMs: integerSetting(env, 'BENCH_FAULTS_RELOAD_INTERVAL_MS', 50, 1),
    slowlorisConnections: integerSetting(env, 'BENCH_FAULTS_SLOWLORIS', 2000, 1),
    stalledBodies: integerSetting(env, 'BENCH_FAULTS_STALLED', 200, 1),
    stallWaitS: integerSetting(env, 'BENCH_FAULTS_STALL_WAIT', 45, 1),
    uploadBytes: integerSetting(env, 'BENCH_FAULTS_UPLOAD_MB', 150, 1) * MB,
    downloadBytes: integerSetting(env, 'BENCH_FAULTS_DOWNLOAD_MB', 100, 1) * MB,
    slowBytesPerS: integerSetting(env, 'BENCH_FAULTS_SLOW_MBPS', 25, 1) * MB,
  };
}
