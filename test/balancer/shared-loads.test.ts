import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import type { BalancerConfig, KeyedConfig } from '../../src/balancer/factory.js';
import { defaultBalancerConfig } from '../../src/balancer/factory.js';
import { DEFAULT_SHARED_SLOTS, FIRST_SLOT, MAX_SHARED_SLOTS, SharedLoads, TOTAL_CELL } from '../../src/balancer/shared-loads.js';
import { SlotTable } from '../../src/balancer/shared-slots.js';
import { ConfigError, ShardgateError } from '../../src/errors.js';
import { contract, makeKeys, setOf, specs, weighted } from './helpers.js';
import type { PickerData, PickerResult } from './shared-picker.js';
import { CONTROL_GO, CONTROL_RELEASE } from './shared-picker.js';

const KEYS = makeKeys(500);

// One thread over shared cells must keep every promise a board of its own keeps.
contract({ label: 'round-robin (shared counts)', config: { algorithm: 'round-robin' }, endpoints: weighted([3, 1, 2, 1, 1]), allDraining: 'all-unavailable', allExcluded: 'all-unavailable', keys: null, shared: true });
contract({ label: 'random (shared counts)', config: { algorithm: 'random' }, endpoints: specs(5), allDraining: 'all-unavailable', allExcluded: 'all-unavailable', keys: null, shared: true });
contract({ label: 'least-request (shared counts)', config: { algorithm: 'least-request' }, endpoints: specs(5), allDraining: 'all-unavailable', allExcluded: 'all-unavailable', keys: null, shared: true });
contract({ label: 'p2c (shared counts)', config: { algorithm: 'p2c' }, endpoints: specs(5), allDraining: 'all-unavailable', allExcluded: 'all-unavailable', keys: null, shared: true });
contract({ label: 'peak-ewma (shared counts)', config: { algorithm: 'peak-ewma', decayMs: 10_000, defaultRttMs: 10 }, endpoints: specs(5), allDraining: 'all-unavailable', allExcluded: 'all-unavailable', keys: null, shared: true });
contract({ label: 'ring-hash (shared counts)', config: defaultBalancerConfig('ring-hash'), endpoints: specs(6), allDraining: 'all-unavailable', allExcluded: 'all-unavailable', keys: KEYS, shared: true });
contract({ label: 'maglev (shared counts)', config: defaultBalancerConfig('maglev'), endpoints: specs(6), allDraining: 'all-unavailable', allExcluded: 'all-unavailable', keys: KEYS, shared: true });
contract({ label: 'jump (shared counts)', config: defaultBalancerConfig('jump'), endpoints: specs(6), allDraining: 'all-unavailable', allExcluded: 'all-unavailable', keys: KEYS, shared: true });

test('SharedLoads: create checks the slot count and names the field', () => {
  assert.equal(SharedLoads.create().capacity, DEFAULT_SHARED_SLOTS);
  assert.equal(SharedLoads.create(3).counts.length, FIRST_SLOT + 3);
  for (const bad of [0, -1, 1.5, MAX_SHARED_SLOTS + 1, Number.NaN]) {
    assert.throws(() => SharedLoads.create(bad, 0, 'workers.sharedSlots'), (e: unknown) => e instanceof ConfigError && e.field === 'workers.sharedSlots' && e.message.includes(String(bad)));
  }
  assert.throws(() => new SharedLoads(new SharedArrayBuffer(4)), ShardgateError);
  assert.throws(() => new SharedLoads(new ArrayBuffer(64) as unknown as SharedArrayBuffer), ShardgateError);
});

test('SharedLoads: another view of the same buffer sees the same cells; the turn counter starts where it was seeded', () => {
  const a = SharedLoads.create(8, 0xfffffffe);
  const b = new SharedLoads(a.buffer);
  assert.equal(b.turns[0], 0xfffffffe, 'the turn counter reads as unsigned');
  Atomics.add(a.counts, FIRST_SLOT + 3, 2);
  Atomics.add(a.counts, TOTAL_CELL, 2);
  assert.equal(b.inflightAt(FIRST_SLOT + 3), 2);
  assert.equal(b.totalInflight, 2);
});

test('SharedLoads: setSlots maps names to cells; a name without one, or a slot outside the cells, is refused', () => {
  const loads = SharedLoads.create(4);
  loads.setSlots(['a', 'b'], [FIRST_SLOT + 1, FIRST_SLOT]);
  assert.equal(loads.slotOf('a'), FIRST_SLOT + 1);
  assert.equal(loads.slotOf('b'), FIRST_SLOT);
  assert.throws(() => loads.slotOf('c'), /"c" has no shared slot/);
  assert.throws(() => loads.setSlots(['a'], [FIRST_SLOT, FIRST_SLOT + 1]), /2 shared slots for 1 endpoints/);
  assert.throws(() => loads.setSlots(['a'], [TOTAL_CELL]), /"a" came with shared slot 1/);
  assert.throws(() => loads.setSlots(['a'], [FIRST_SLOT + 4]), /outside/);
  // A refused map leaves the previous one in place.
  assert.equal(loads.slotOf('b'), FIRST_SLOT);
});

interface Run {
  readonly results: PickerResult[];
  /** Requests held per endpoint while every thread held its last ones. */
  readonly heldTogether: number[];
  /** The most requests any endpoint held at once during the run. */
  readonly peaks: number[];
  readonly loads: SharedLoads | null;
}

interface RunOptions {
  readonly threads: readonly number[];
  readonly config: BalancerConfig;
  readonly weights: readonly number[];
  readonly hold: number;
  readonly key?: string | null;
  readonly maxInflight?: number;
  /** Boards of their own per thread instead of shared cells: what the shared cells fix. */
  readonly ownBoards?: boolean;
  /** Each endpoint's version label, and the version each thread asks for (null: every endpoint). */
  readonly versions?: readonly string[];
  readonly subsets?: readonly (string | null)[];
}

/** Real worker threads picking at once over one set; each entry of `threads` is one thread's pick count. */
async function runThreads(o: RunOptions): Promise<Run> {
  const names = o.weights.map((_, i) => `pod-${i}`);
  const n = names.length;
  const loads = o.ownBoards === true ? null : SharedLoads.create(16, 0);
  const slots = loads === null ? names.map(() => 0) : [...new SlotTable(loads).assign(setOf(names.map((name, i) => ({ name, address: `10.0.0.${i}:80`, weight: o.weights[i]! })))).slots];
  const control = new SharedArrayBuffer(8);
  const observed = new SharedArrayBuffer(2 * n * 4);
  const workers = o.threads.map((picks, t) => {
    const data: PickerData = {
      buffer: loads === null ? null : loads.buffer,
      slots,
      names,
      weights: o.weights,
      config: o.config,
      maxInflight: o.maxInflight ?? 0,
      picks,
      hold: o.hold,
      key: o.key ?? null,
      seed: 100 + t,
      control,
      observed,
      ...(o.versions === undefined ? {} : { versions: o.versions, subset: o.subsets?.[t] ?? null }),
    };
    return new Worker(new URL('./shared-picker.js', import.meta.url), { workerData: data });
  });
  const messages = workers.map((w) => {
    const queue: unknown[] = [];
    let wake: (() => void) | null = null;
    w.on('message', (m: unknown) => {
      queue.push(m);
      wake?.();
    });
    const failed = new Promise<never>((_, reject) => {
      w.on('error', reject);
      w.on('exit', (code) => {
        if (code !== 0) reject(new Error(`picker thread exited with ${code}`));
      });
    });
    return async (): Promise<unknown> => {
      while (queue.length === 0) await Promise.race([new Promise<void>((r) => (wake = r)), failed]);
      return queue.shift();
    };
  });
  try {
    await Promise.all(messages.map(async (next) => assert.equal(await next(), 'ready')));
    const c = new Int32Array(control);
    Atomics.store(c, CONTROL_GO, 1);
    Atomics.notify(c, CONTROL_GO);
    await Promise.all(messages.map(async (next) => assert.equal(await next(), 'holding')));
    const obs = new Int32Array(observed);
    const heldTogether = Array.from({ length: n }, (_, i) => Atomics.load(obs, i));
    Atomics.store(c, CONTROL_RELEASE, 1);
    Atomics.notify(c, CONTROL_RELEASE);
    const results = (await Promise.all(messages.map((next) => next()))) as PickerResult[];
    const peaks = Array.from({ length: n }, (_, i) => Atomics.load(obs, n + i));
    return { results, heldTogether, peaks, loads };
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

function aggregate(results: readonly PickerResult[]): number[] {
  const sum = results[0]!.counts.map(() => 0);
  for (const r of results) r.counts.forEach((c, i) => (sum[i]! += c));
  return sum;
}

function assertDrained(loads: SharedLoads | null, n: number): void {
  assert.ok(loads !== null);
  for (let i = 0; i < n; i++) assert.equal(loads.inflightAt(FIRST_SLOT + i), 0, `pod-${i}'s shared count back to 0`);
  assert.equal(loads.totalInflight, 0, 'the shared total back to 0');
}

test('round robin over shared counts, real threads at once: the process gets exact shares whatever each thread picked', async () => {
  const even = await runThreads({ threads: [1_000, 1_000, 1_000, 1_000], config: { algorithm: 'round-robin' }, weights: [1, 1, 1, 1], hold: 0 });
  assert.deepEqual(aggregate(even.results), [1_000, 1_000, 1_000, 1_000]);
  const uneven = await runThreads({ threads: [1_001, 999, 1_003, 997], config: { algorithm: 'round-robin' }, weights: [1, 1, 1, 1], hold: 0 });
  assert.deepEqual(aggregate(uneven.results), [1_000, 1_000, 1_000, 1_000]);
  const weighted = await runThreads({ threads: [1_000, 1_000, 1_000, 1_000], config: { algorithm: 'round-robin' }, weights: [3, 1, 2, 2], hold: 2 });
  assert.deepEqual(aggregate(weighted.results), [1_500, 500, 1_000, 1_000]);
  assertDrained(weighted.loads, 4);
});

const HOT: KeyedConfig = { ...(defaultBalancerConfig('ring-hash') as KeyedConfig), loadFactor: 1.25 };
/** 4 threads holding 8 requests each: the process never has more than 32 in flight. */
const HOT_RUN = { threads: [5_000, 5_000, 5_000, 5_000], config: HOT, weights: [1, 1, 1, 1], hold: 8, key: 'account-hot' } as const;
/** ceil(1.25 x 32 / 4): no pod above c x the average, the average over the whole process. */
const HOT_BOUND = 10;

test('bounded loads over shared counts, real threads hammering one hot key: no pod ever holds more than ceil(c x average) of the process', async () => {
  const run = await runThreads(HOT_RUN);
  assert.ok(Math.max(...run.peaks) <= HOT_BOUND, `peaks per pod ${run.peaks.join(', ')}, bound ${HOT_BOUND}`);
  assert.equal(
    run.heldTogether.reduce((a, b) => a + b, 0),
    32,
    'every thread held its 8 at the end',
  );
  assert.ok(Math.max(...run.heldTogether) <= HOT_BOUND, `held together ${run.heldTogether.join(', ')}`);
  // The hot key really spilled: its owner filled to the bound and the rest went on.
  assert.ok(run.peaks.filter((p) => p > 0).length >= 3, `spread ${run.peaks.join(', ')}`);
  assert.equal(run.results.reduce((a, r) => a + r.none, 0), 0);
  assertDrained(run.loads, 4);
});

test('the contrast: boards of their own per thread each keep their own bound, and together they pass the process bound', async () => {
  const run = await runThreads({ ...HOT_RUN, ownBoards: true });
  // Each thread holds 8 and bounds its owner at ceil(1.25 x 8 / 4) = 3, so 4 threads put 12 there.
  assert.equal(Math.max(...run.heldTogether), 12, `held together ${run.heldTogether.join(', ')}`);
  assert.ok(Math.max(...run.heldTogether) > HOT_BOUND);
});

test('an in-flight limit over shared counts, real threads at once: no pod ever passes it, and every count drains', async () => {
  // 16 held requests want in, 12 places exist: threads run into full pods all the time.
  const run = await runThreads({ threads: [5_000, 5_000, 5_000, 5_000], config: { algorithm: 'p2c' }, weights: [1, 1, 1, 1], hold: 4, maxInflight: 3 });
  assert.ok(Math.max(...run.peaks) <= 3, `peaks per pod ${run.peaks.join(', ')}, limit 3`);
  assert.ok(run.results.reduce((a, r) => a + r.none, 0) > 0, 'some picks found every pod full');
  assertDrained(run.loads, 4);
});

test('an in-flight limit over shared counts, threads picking in a subset and in the whole set at once: no pod ever passes it', async () => {
  // Threads 0 and 1 ask for v1 (pod-0, pod-1), threads 2 and 3 for every pod: 16 held, 8 places.
  // Which pods the whole-set threads catch depends on timing; that a subset and the whole set see
  // one count in each thread is shown deterministically in subsets.test.ts.
  const run = await runThreads({ threads: [5_000, 5_000, 5_000, 5_000], config: { algorithm: 'least-request' }, weights: [1, 1, 1, 1], hold: 4, maxInflight: 2, versions: ['v1', 'v1', 'v2', 'v2'], subsets: ['v1', 'v1', null, null] });
  assert.ok(Math.max(...run.peaks) <= 2, `peaks per pod ${run.peaks.join(', ')}, limit 2`);
  for (const t of [0, 1]) assert.deepEqual(run.results[t]!.counts.slice(2), [0, 0], `thread ${t} stayed in its subset`);
  assert.ok(run.results[0]!.none + run.results[1]!.none > 0, 'the subset threads found their pods full, filled by the others too');
  assertDrained(run.loads, 4);
});
