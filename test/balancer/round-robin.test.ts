import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Balancer } from '../../src/balancer/balancer.js';
import { ManualClock } from '../../src/balancer/clock.js';
import type { EndpointSpec } from '../../src/balancer/endpoint.js';
import { LoadBoard } from '../../src/balancer/load-board.js';
import { RoundRobinBalancer } from '../../src/balancer/round-robin.js';
import { SharedLoads } from '../../src/balancer/shared-loads.js';
import { SlotTable } from '../../src/balancer/shared-slots.js';
import { assertIdle, contract, countOf, excluding, expectNone, expectOk, harness, pickNames, setOf, specs, weighted } from './helpers.js';

contract({ label: 'round-robin', config: { algorithm: 'round-robin' }, endpoints: weighted([3, 1, 2, 1, 1]), allDraining: 'all-unavailable', allExcluded: 'all-unavailable', keys: null });

function rr(list: readonly EndpointSpec[], offset = 0): { b: RoundRobinBalancer; board: LoadBoard } {
  const board = new LoadBoard(new ManualClock());
  const b = new RoundRobinBalancer(board, offset);
  b.update(setOf(list));
  return { b, board };
}

/** nginx's ngx_http_upstream_get_peer, written plainly, over names. */
function nginxSequence(weights: readonly number[], count: number): number[] {
  const current = weights.map(() => 0);
  const total = weights.reduce((a, b) => a + b, 0);
  const out: number[] = [];
  for (let s = 0; s < count; s++) {
    let best = -1;
    for (let i = 0; i < weights.length; i++) {
      current[i]! += weights[i]!;
      if (best < 0 || current[i]! > current[best]!) best = i;
    }
    current[best]! -= total;
    out.push(best);
  }
  return out;
}

const letters = (names: readonly string[]): string => names.map((n) => 'abcdefghij'[Number(n.slice(4))]).join(' ');

test('round-robin: weights 5, 1, 1 give nginx\'s smooth order a a b a c a a, period after period', () => {
  const { b } = rr(weighted([5, 1, 1]));
  assert.equal(letters(pickNames(b, 7)), 'a a b a c a a');
  assert.equal(letters(pickNames(b, 14)), 'a a b a c a a a a b a c a a');
});

test('round-robin: equal weights are exactly 25/25/25/25, in name order', () => {
  const { b } = rr(specs(4));
  const names = pickNames(b, 100);
  for (let i = 0; i < 4; i++) assert.equal(countOf(names, `svc-${i}`), 25);
  assert.equal(letters(names.slice(0, 8)), 'a b c d a b c d');
  // Whatever the starting offset (the factory draws one), the shares are exact.
  for (let seed = 0; seed < 5; seed++) {
    const h = harness({ algorithm: 'round-robin' }, specs(4), seed);
    const got = pickNames(h.balancer, 100);
    for (let i = 0; i < 4; i++) assert.equal(countOf(got, `svc-${i}`), 25, `seed ${seed}`);
  }
});

test('round-robin: exact proportions over whole periods, and the same order as nginx', () => {
  for (const weights of [[1, 2, 3, 4], [7, 3], [2, 4, 6], [10_000, 1, 1], [13, 1, 7, 2, 9]]) {
    const total = weights.reduce((a, c) => a + c, 0);
    const { b } = rr(weighted(weights));
    const names = pickNames(b, total * 3);
    weights.forEach((w, i) => assert.equal(countOf(names, `svc-${i}`), w * 3, `weights ${weights.join(',')}: svc-${i}`));
    assert.deepEqual(names.map((n) => Number(n.slice(4))), nginxSequence(weights, total * 3), `weights ${weights.join(',')}`);
  }
});

test('round-robin: the offset rotates the start and nothing else', () => {
  const base = pickNames(rr(weighted([5, 1, 1])).b, 7);
  const shifted = pickNames(rr(weighted([5, 1, 1]), 3).b, 7);
  assert.deepEqual(shifted, [...base.slice(3), ...base.slice(0, 3)]);
});

test('round-robin: skipped endpoints leave the others in their order and proportions', () => {
  const { b, board } = rr(weighted([5, 1, 1]));
  const exclude = excluding(board.set, ['svc-0']);
  const names: string[] = [];
  for (let i = 0; i < 10; i++) {
    const p = expectOk(b.pick(null, exclude));
    names.push(p.endpoint.name);
    p.done(0, 'ok');
  }
  assert.equal(letters(names), 'b c b c b c b c b c');
  assertIdle(board, 'round-robin');
});

test('round-robin: large totals run nginx\'s loop and give the same order', () => {
  // 120 endpoints with weights up to 10000 and no common divisor: too long to precompute.
  const weights = Array.from({ length: 120 }, (_, i) => 10_000 - (i % 7) * 1_000 - (i % 3));
  const { b, board } = rr(weighted(weights));
  const count = 5_000;
  const names = pickNames(b, count);
  // The reference runs over the set's order (by name), where ties go to the first.
  const eps = board.set.endpoints;
  assert.deepEqual(names, nginxSequence(eps.map((e) => e.weight), count).map((i) => eps[i]!.name));
});

test('round-robin: large totals with the heavy endpoints excluded still serve the light ones', () => {
  // 110 endpoints of weight 10000 and two of weight 1: nginx's step, skipping after the fact,
  // would land on excluded heavy endpoints for n steps in a row and wrongly answer 'all-unavailable'.
  const list = [...weighted(Array.from({ length: 110 }, () => 10_000)), { name: 'zz-a', address: 'x:1', weight: 1 }, { name: 'zz-b', address: 'x:2', weight: 1 }];
  const { b, board } = rr(list);
  const heavy = board.set.endpoints.filter((e) => e.weight > 1);
  const exclude = new Set(heavy);
  const names: string[] = [];
  for (let i = 0; i < 20; i++) {
    const p = expectOk(b.pick(null, exclude));
    names.push(p.endpoint.name);
    p.done(0, 'ok');
  }
  assert.equal(countOf(names, 'zz-a'), 10);
  assert.equal(countOf(names, 'zz-b'), 10);
  expectNone(b.pick(null, new Set(board.set.endpoints)), 'all-unavailable');
  assertIdle(board, 'round-robin');
});

test('round-robin: equal large weights reduce to a plain rotation', () => {
  const { b } = rr(weighted(Array.from({ length: 300 }, () => 9_000)));
  const names = pickNames(b, 600);
  const order = names.map((n) => Number(n.slice(4)));
  const sorted = setOf(weighted(Array.from({ length: 300 }, () => 9_000))).endpoints.map((e) => Number(e.name.slice(4)));
  assert.deepEqual(order, [...sorted, ...sorted]);
});

test('round-robin: an update keeps serving with the new weights', () => {
  const { b } = rr(weighted([1, 1]));
  pickNames(b, 3);
  b.update(setOf(weighted([1, 3]), 2));
  const names = pickNames(b, 40);
  assert.equal(countOf(names, 'svc-1'), 30);
  const balancer: Balancer = b;
  assert.equal(balancer.keyed, false);
  assert.equal(balancer.algorithm, 'round-robin');
});

/** Round robin balancers on boards over one set of shared cells, as threads of one process have them. */
function sharedRr(list: readonly EndpointSpec[], count: number, firstTurn = 0): RoundRobinBalancer[] {
  const loads = SharedLoads.create(16, firstTurn);
  const set = setOf(list);
  const slots = new SlotTable(loads).assign(set).slots;
  return Array.from({ length: count }, (_, i) => {
    const view = new SharedLoads(loads.buffer);
    view.setSlots(set.endpoints.map((e) => e.name), slots);
    const b = new RoundRobinBalancer(new LoadBoard(new ManualClock(), { shared: view }), 17 * i);
    b.update(set);
    return b;
  });
}

test('round-robin with shared counts: balancers of several threads take turns on one schedule; their own offsets do not matter', () => {
  const [a, b, c] = sharedRr(weighted([5, 1, 1]), 3);
  const names: string[] = [];
  for (let i = 0; i < 7; i++) names.push(...pickNames([a, b, c][i % 3]!, 1), ...pickNames(a!, 1));
  assert.equal(letters(names), 'a a b a c a a a a b a c a a');
});

test('round-robin with shared counts: the turn counter folds back before it wraps, and the order goes on exactly', () => {
  // Left alone, the counter would wrap from 2^32 - 1 (0 mod 3) to 0 (0 mod 3): one endpoint twice.
  const loads = sharedRr(specs(3), 2, 2 ** 32 - 5);
  const seq = [...pickNames(loads[0]!, 3), ...pickNames(loads[1]!, 300)];
  const first = Number(seq[0]!.slice(4));
  seq.forEach((name, i) => assert.equal(name, `svc-${(first + i) % 3}`, `pick ${i}`));
});
