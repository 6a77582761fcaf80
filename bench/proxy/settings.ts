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

function positiveInteger(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} is ${JSON.stringify(raw)}: give an integer >= ${min}`);
  return n;
}

function subset<T extends string>(env: NodeJS.ProcessEnv, name: string, all: readonly T[]): T[] {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return [...all];
  const wanted = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const unknown = wanted.filter((w) => !(all as readonly string[]).includes(w));
  if (unknown.length > 0) throw new Error(`${name} names ${unknown.join(', ')}: choose from ${all.join(', ')}`);
  // In the canonical order, so that the table reads the same whatever order was typed.
  return all.filter((t) => wanted.includes(t));
}

export function readSettings(env: NodeJS.ProcessEnv): BenchSettings {
  return {
    durationS: positiveInteger(env, 'BENCH_DURATION', 10, 1),
    rounds: positiveInteger(env, 'BENCH_ROUNDS', 2, 1),
    targets: subset(env, 'BENCH_ONLY', TARGET_NAMES),
    loads: subset(
      env,
      'BENCH_LOADS',
      LOADS.map((l) => l.name),
    ),
    idleConnections: positiveInteger(env, 'BENCH_IDLE_CONNECTIONS', IDLE_CONNECTIONS, 0),
    hotKey: env.BENCH_HOT_KEY !== '0',
  };
}
