import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Balancer, Pick } from '../../src/balancer/balancer.js';
import { ManualClock } from '../../src/balancer/clock.js';
import type { EndpointSet, EndpointSpec } from '../../src/balancer/endpoint.js';
import { filterEndpointSet } from '../../src/balancer/endpoint.js';
import type { BalancerConfig } from '../../src/balancer/factory.js';
import { createBalancer, defaultBalancerConfig } from '../../src/balancer/factory.js';
import { hashKey } from '../../src/balancer/hash.js';
import type { HashingBalancer } from '../../src/balancer/hashing-balancer.js';
import type { LoadBoardOptions } from '../../src/balancer/load-board.js';
import { LoadBoard } from '../../src/balancer/load-board.js';
import { seededRng } from '../../src/balancer/rng.js';
import { SharedLoads } from '../../src/balancer/shared-loads.js';
import { SlotTable } from '../../src/balancer/shared-slots.js';
import type { SubsetOptions } from '../../src/balancer/subsets.js';
import { DEFAULT_MAX_SUBSETS, SubsetRouter, validateSubsetOptions } from '../../src/balancer/subsets.js';
import type { ZonePreference } from '../../src/balancer/zone-aware.js';
import { ConfigError } from '../../src/errors.js';
import { assertIdle, expectNone, expectOk, makeKeys, setOf } from './helpers.js';

/** pod-0 .. pod-7: version v1 for even, v2 for odd; tier gold for 0-3, silver for 4-7; pod-7 unlabelled by tier. */
function pods(): EndpointSpec[] {
  return Array.from({ length: 8 }, (_, i) => {
    const labels: Record<string, string> = { version: i % 2 === 0 ? 'v1' : 'v2' };
    if (i !== 7) labels.tier = i < 4 ? 'gold' : 'silver';
    return { name: `pod-${i}`, address: `10.0.0.${i}:80`, labels, zone: i % 2 === 0 ? 'a' : 'b' };
  });
}

const VERSION = { header: 'x-version', label: 'version' };
const TIER = { header: 'x-tier', label: 'tier' };

function options(over: Partial<SubsetOptions> = {}): SubsetOptions {
  return { selectors: [VERSION, TIER], fallback: 'any', defaultSubset: null, maxSubsets: DEFAULT_MAX_SUBSETS, ...over };
}

interface Router {
  readonly router: SubsetRouter;
  readonly all: Balancer;
  readonly board: LoadBoard;
  readonly set: EndpointSet;
  readonly clock: ManualClock;
}

function router(config: BalancerConfig, over: Partial<SubsetOptions> = {}, list: readonly EndpointSpec[] = pods(), board?: LoadBoard, zone: ZonePreference | null = null): Router {
  const clock = new ManualClock(1_000);
  const b = board ?? new LoadBoard(clock);
  const rng = seededRng(3);
  const build = (on: LoadBoard): Balancer => createBalancer(config, { clock, rng, board: on, zone });
  const all = build(b);
  const r = new SubsetRouter(options(over), b, build, all);
  const set = setOf(list);
  all.update(set);
  r.update(set);
  return { router: r, all, board: b, set, clock };
}

/** Names picked by `count` requests with `values`, each ended at once. */
function picks(r: Router, values: readonly (string | undefined)[], count: number, key: string | null = null): Set<string> {
  const lb = r.router.select(values);
  assert.ok(lb !== null, `a balancer for ${JSON.stringify(values)}`);
  const out = new Set<string>();
  for (let i = 0; i < count; i++) {
    const p = expectOk(lb.pick(key === null ? null : hashKey(`${key}-${i}`), null));
    out.add(p.endpoint.name);
    p.done(r.clock.nowMs(), 'ok');
  }
  return out;
}

test('subsets: a header value routes among the endpoints with that label only; no header, among all', () => {
  const r = router({ algorithm: 'round-robin' });
  assert.deepEqual([...picks(r, ['v2', undefined], 100)].sort(), ['pod-1', 'pod-3', 'pod-5', 'pod-7']);
  assert.deepEqual([...picks(r, [undefined, 'silver'], 100)].sort(), ['pod-4', 'pod-5', 'pod-6']);
  assert.deepEqual([...picks(r, ['v1', 'gold'], 100)].sort(), ['pod-0', 'pod-2'], 'both labels');
  assert.equal(r.router.select([undefined, undefined]), r.all);
  assert.equal(picks(r, [undefined, undefined], 100).size, 8);
  // v1 x gold, v1 x silver, v2 x gold, v2 x silver; v1, v2; gold, silver.
  assert.equal(r.router.subsets, 8);
  assert.equal(r.router.dropped, 0);
  assertIdle(r.board, 'subsets');
});

test('subsets: values that no endpoint has take the fallback: any uses every endpoint, fail refuses naming the labels', () => {
  const any = router({ algorithm: 'p2c' });
  assert.equal(any.router.select(['v9', undefined]), any.all);
  assert.equal(any.router.select(['v2', 'bronze']), any.all);
  assert.equal(any.router.select([undefined, 'silver\u0000']), any.all, 'values are compared exactly');
  const fail = router({ algorithm: 'p2c' }, { fallback: 'fail' });
  assert.equal(fail.router.select(['v9', undefined]), null);
  assert.equal(fail.router.select(['v1', undefined]) === null, false);
  assert.equal(fail.router.select([undefined, undefined]), fail.all, 'no header: every endpoint, whatever the fallback');
  assert.equal(fail.router.describeMiss(['v9', undefined]), 'no endpoint has the labels version="v9" (header x-version)');
  assert.equal(fail.router.describeMiss(['v2', 'bronze']), 'no endpoint has the labels version="v2" (header x-version), tier="bronze" (header x-tier)');
  assert.ok(fail.router.describeMiss(['x'.repeat(1_000), undefined]).length < 200, 'a long value is cut');
});

test('subsets: fallback default sends unmatched requests and requests without a header to the default subset; an empty one refuses', () => {
  const r = router({ algorithm: 'round-robin' }, { fallback: 'default', defaultSubset: { version: 'v1' } });
  const v1 = ['pod-0', 'pod-2', 'pod-4', 'pod-6'];
  assert.deepEqual([...picks(r, [undefined, undefined], 50)].sort(), v1);
  assert.deepEqual([...picks(r, ['v9', undefined], 50)].sort(), v1);
  assert.deepEqual([...picks(r, ['v2', undefined], 50)].sort(), ['pod-1', 'pod-3', 'pod-5', 'pod-7'], 'a matching subset is still its own');
  const empty = router({ algorithm: 'round-robin' }, { fallback: 'default', defaultSubset: { version: 'v3' } });
  assert.equal(empty.router.select([undefined, undefined]), null);
  assert.equal(empty.router.select(['v9', undefined]), null);
  assert.match(empty.router.describeMiss(['v9', undefined]), /version="v9".*no endpoint is in the default subset \(version="v3"\)/);
  assert.match(empty.router.describeMiss([undefined, undefined]), /names no subset, and no endpoint is in the default subset/);
});

test('subsets: a key is owned within its subset, by the subset\'s balancer alone, as a balancer over just those endpoints would own it', () => {
  for (const algorithm of ['ring-hash', 'maglev', 'rendezvous', 'jump'] as const) {
    const config = defaultBalancerConfig(algorithm);
    const r = router(config);
    const lb = r.router.select(['v2', undefined]) as HashingBalancer;
    const alone = createBalancer(config, { clock: r.clock, rng: seededRng(1) }) as HashingBalancer;
    alone.update(filterEndpointSet(r.set, (e) => e.labels.version === 'v2'));
    for (const key of makeKeys(500)) {
      const p = expectOk(lb.pick(key, null));
      assert.equal(p.endpoint.labels.version, 'v2');
      assert.equal(p.endpoint.name, alone.owner(key)!.name, `${algorithm}: the same owner as a balancer of the subset`);
      assert.equal(lb.owner(key)!.name, p.endpoint.name);
      p.done(0, 'ok');
    }
    // Every proxy building the same subsets from the same endpoints agrees.
    const other = router(config, {}, [...pods()].reverse());
    for (const key of makeKeys(200, 5)) assert.equal((other.router.select(['v2', undefined]) as HashingBalancer).owner(key)!.name, lb.owner(key)!.name);
  }
});

test('subsets: in-flight counts are one per endpoint across subsets and the whole set, and so is the limit', () => {
  const r = router({ algorithm: 'least-request' }, {}, pods(), new LoadBoard(new ManualClock(1_000), { maxInflight: 2 }));
  const gold = r.router.select([undefined, 'gold'])!;
  const v1gold = r.router.select(['v1', 'gold'])!;
  const held: Pick[] = [];
  const take = (lb: Balancer): string => {
    const p = expectOk(lb.pick(null, null));
    held.push(p);
    return p.endpoint.name;
  };
  // Gold is pod-0..3, one request each; then the v1-gold subset fills pod-0 and pod-2.
  for (let i = 0; i < 4; i++) take(gold);
  assert.deepEqual([take(v1gold), take(v1gold)].sort(), ['pod-0', 'pod-2']);
  // Gold's least-request heard of those: its next two go to pod-1 and pod-3, never above the limit.
  assert.deepEqual([take(gold), take(gold)].sort(), ['pod-1', 'pod-3']);
  expectNone(gold.pick(null, null), 'saturated');
  expectNone(v1gold.pick(null, null), 'saturated');
  assert.equal(r.board.totalInflight, 8);
  assert.ok(!['pod-0', 'pod-1', 'pod-2', 'pod-3'].includes(take(r.all)), 'the whole set goes where there is room');
  held.find((p) => p.endpoint.name === 'pod-2')!.done(r.clock.nowMs(), 'ok');
  held.splice(held.findIndex((p) => p.endpoint.name === 'pod-2'), 1);
  assert.equal(take(v1gold), 'pod-2', 'the room the gold subset freed');
  for (const p of held) p.done(r.clock.nowMs(), 'ok');
  assertIdle(r.board, 'least-request');
});

test('subsets: an endpoint out of rotation is out of every subset; a subset with all out answers all-unavailable, not the fallback', () => {
  const r = router({ algorithm: 'p2c' });
  r.board.setDown('pod-0', 'ejected', true);
  r.board.setDown('pod-2', 'failed-check', true);
  const v1gold = r.router.select(['v1', 'gold'])!;
  expectNone(v1gold.pick(null, null), 'all-unavailable');
  assert.equal(picks(r, ['v1', undefined], 50).has('pod-0'), false);
});

test('subsets: rebuilt on every set; a value that appears gets a subset, one that goes takes the fallback, and views are let go', () => {
  const r = router({ algorithm: 'least-request' }, { fallback: 'fail' });
  const viewsBefore = r.board.viewCount;
  assert.equal(viewsBefore, 8, 'one view per subset');
  const v2 = r.router.select(['v2', undefined]);
  const next = pods().map((e) => (e.name === 'pod-1' ? { ...e, labels: { version: 'v3' } } : e));
  const set2 = setOf(next, 2);
  r.all.update(set2);
  r.router.update(set2);
  assert.deepEqual([...picks(r, ['v3', undefined], 20)], ['pod-1']);
  assert.equal(r.router.select(['v2', undefined]), v2, 'a subset that stays keeps its balancer');
  assert.equal(picks(r, ['v2', undefined], 50).has('pod-1'), false);
  const set3 = setOf(pods(), 3);
  r.all.update(set3);
  r.router.update(set3);
  assert.equal(r.router.select(['v3', undefined]), null, 'gone: fail');
  assert.equal(r.board.viewCount, viewsBefore, 'the v3 subset let go of its view');
  // Least-request watches every subset an endpoint is in: its version, its tier and the pair.
  for (const l of r.board.loads) assert.equal(l.links.length, l.endpoint.name === 'pod-7' ? 1 : 3, `${l.endpoint.name}: no link left from a dropped subset`);
});

test('subsets: at most maxSubsets are built, fewest labels first, the same ones in every router; the rest take the fallback', () => {
  const many = Array.from({ length: 40 }, (_, i) => ({ name: `pod-${i}`, address: `10.0.1.${i}:80`, labels: { version: `v${i % 20}`, tier: `t${i % 7}` } }));
  const r = router({ algorithm: 'random' }, { maxSubsets: 25, fallback: 'fail' }, many);
  assert.equal(r.router.subsets, 25);
  // 20 versions + 7 tiers + up to 40 pairs present.
  assert.ok(r.router.dropped > 0);
  for (let v = 0; v < 20; v++) assert.notEqual(r.router.select([`v${v}`, undefined]), null, `v${v}: one label, kept`);
  const kept = Array.from({ length: 7 }, (_, t) => r.router.select([undefined, `t${t}`]) !== null);
  assert.deepEqual(kept, [true, true, true, true, true, false, false], 'then by value: t0..t4');
  assert.equal(r.router.select(['v0', 't0']), null, 'pairs were not built');
  assert.match(r.router.describeMiss(['v0', 't0']), /past subsets\.maxSubsets \(25\) were not built/);
  const again = router({ algorithm: 'random' }, { maxSubsets: 25, fallback: 'fail' }, [...many].reverse());
  for (let t = 0; t < 7; t++) assert.equal(again.router.select([undefined, `t${t}`]) !== null, kept[t]);
});

test('subsets: each subset prefers the proxy\'s zone for requests without a key, like the whole set', () => {
  const r = router({ algorithm: 'p2c' }, {}, pods(), undefined, { zone: 'a', minEndpoints: 1 });
  // Zone a holds the even pods: v1 only. v2 is all in zone b, so its preference is off.
  const gold = picks(r, [undefined, 'gold'], 200);
  assert.deepEqual([...gold].sort(), ['pod-0', 'pod-2']);
  assert.deepEqual([...picks(r, ['v2', undefined], 200)].sort(), ['pod-1', 'pod-3', 'pod-5', 'pod-7']);
});

test('subsets over shared counts: a subset of each thread sees the other\'s requests, and the limit holds across threads and subsets', () => {
  const shared = SharedLoads.create(32);
  const set = setOf(pods(), 1);
  const slots = new SlotTable(shared).assign(set).slots;
  const cells = [shared, new SharedLoads(shared.buffer)];
  const threads = cells.map((s) => {
    s.setSlots(set.endpoints.map((e) => e.name), slots);
    const opts: LoadBoardOptions = { shared: s, maxInflight: 1 };
    return router({ algorithm: 'round-robin' }, {}, pods(), new LoadBoard(new ManualClock(1_000), opts));
  });
  const [t0, t1] = threads as [Router, Router];
  const held: Pick[] = [];
  // Thread 0 fills the v2 pods through the v2 subset, thread 1 the gold ones through the whole set.
  for (let i = 0; i < 4; i++) held.push(expectOk(t0.router.select(['v2', undefined])!.pick(null, null)));
  expectNone(t1.router.select(['v2', undefined])!.pick(null, null), 'saturated');
  expectNone(t1.router.select(['v2', 'gold'])!.pick(null, null), 'saturated');
  assert.equal(t1.board.totalInflight, 4);
  const v1 = t1.router.select(['v1', undefined])!;
  for (let i = 0; i < 4; i++) held.push(expectOk(v1.pick(null, null)));
  expectNone(t0.all.pick(null, null), 'saturated');
  for (const p of held) p.done(1_000, 'ok');
  assert.equal(shared.totalInflight, 0);
  for (const t of threads) assertIdle(t.board, 'shared');
});

test('subsets: options are checked, naming the field', () => {
  const cases: [Partial<SubsetOptions>, string, RegExp][] = [
    [{ selectors: [] }, 'subsets.selectors', /from 1 to 4 request headers/],
    [{ selectors: [VERSION, TIER, { header: 'a', label: 'a' }, { header: 'b', label: 'b' }, { header: 'c', label: 'c' }] }, 'subsets.selectors', /has 5 selectors/],
    [{ selectors: [{ header: 'x version', label: 'version' }] }, 'subsets.selectors[0].header', /request header name/],
    [{ selectors: [VERSION, { header: 'X-Version', label: 'v' }] }, 'subsets.selectors[1].header', /"x-version", which an earlier selector reads/],
    [{ selectors: [VERSION, { header: 'x-v', label: 'version' }] }, 'subsets.selectors[1].label', /an earlier selector selects already/],
    [{ selectors: [{ header: 'x-v', label: '' }] }, 'subsets.selectors[0].label', /endpoint label/],
    [{ fallback: 'default' }, 'subsets.default', /is missing: fallback default/],
    [{ defaultSubset: { version: 'v1' } }, 'subsets.default', /fallback is any/],
    [{ maxSubsets: 0 }, 'subsets.maxSubsets', /integer from 1 to 4096/],
    [{ fallback: 'some' as 'any' }, 'subsets.fallback', /use any, fail, default/],
  ];
  for (const [over, field, message] of cases) {
    assert.throws(() => validateSubsetOptions(options(over), 'subsets'), (e: unknown) => e instanceof ConfigError && e.field === field && message.test(e.message), `${field}: ${JSON.stringify(over)}`);
  }
  assert.deepEqual(validateSubsetOptions(options({ selectors: [{ header: 'X-Version', label: 'version' }] }), 'subsets').selectors, [VERSION], 'headers are lower-cased');
});
