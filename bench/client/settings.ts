/**
 * The environment knobs of bench:client, read once:
 *
 * - BENCH_DURATION: seconds per measured run (default 2)
 * - BENCH_ROUNDS: times every client is measured, alternating clients (default 8: on a shared
 *   machine many short runs give steadier medians than a few long ones)
 * - BENCH_CONCURRENCY: requests kept in flight by the load loop (default 32)
 */
import { integerSetting } from '../common/env.js';

export interface ClientBenchSettings {
  readonly durationS: number;
  readonly rounds: number;
  readonly concurrency: number;
}

export function readClientSettings(env: NodeJS.ProcessEnv): ClientBenchSettings {
  return {
    durationS: integerSetting(env, 'BENCH_DURATION', 2, 1),
    rounds: integerSetting(env, 'BENCH_ROUNDS', 8, 1),
    concurrency: integerSetting(env, 'BENCH_CONCURRENCY', 32, 1),
  };
}
