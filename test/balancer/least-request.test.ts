import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Pick } from '../../src/balancer/balancer.js';
import { seededRng } from '../../src/balancer/rng.js';
import { assertIdle, contract, countOf, expectOk, harness, pickNames, specs, weighted } from './helpers.js';

contract({ label: 'least-request', config: { algorithm: 'least-request' }, endpoints: specs(5), allDraining: 'all-unavailable', allExcluded: 'all-unavailable', keys: null });

test('least-request: picks the endpoint with the fewest in-flight requests', () => {
  const h = harness({ algorithm: 'least-request' }, specs(4));
  const held: Pick[] = [];
  const hold = (index: number, count: number): void => {
    for (let i = 0; i < count; i++) held.push(h.board.begin(index));
  };
  hold(0, 3);
  hold(1, 1);
  hold(2, 5);
  hold(3, 2);
  for (let i = 0; i < 20; i++) {
    const p = expectOk(h.balancer.pick(null, null));
    assert.equal(p.endpoint.name, 'svc-1');
    p.done(0, 'ok');
  }
  // Picks that stay open fill the least loaded first: the in-flight counts level out.
  for (let i = 0; i < 9; i++) held.push(expectOk(h.balancer.pick(null, null)));
  assert.deepEqual(h.board.loads.map((l) => l.inflight), [5, 5, 5, 5]);
  for (const p of held) p.done(0, 'ok');
  assertIdle(h.board, 'least-request');
});

test('least-request: in-flight is weighed by weight', () => {
  const h = harness({ algorithm: 'least-request' }, weighted([1, 4]));
  const held: Pick[] = [];
  for (let i = 0; i < 50; i++) held.push(expectOk(h.balancer.pick(null, null)));
  assert.deepEqual(h.board.loads.map((l) => l.inflight), [10, 40]);
  for (const p of held) p.done(0, 'ok');
});

test('least-request: ties are shared, not always won by the first', () => {
  const h = harness({ algorithm: 'least-request' }, specs(4));
  const names = pickNames(h.balancer, 4_000);
  for (let i = 0; i < 4; i++) {
    const c = countOf(names, `svc-${i}`);
    assert.ok(c > 850 && c < 1150, `svc-${i}: ${c} of 4000`);
  }
});

test('least-request: skips the least loaded when it is excluded', () => {
  const h = harness({ algorithm: 'least-request' }, specs(3));
  const held = [h.board.begin(1), h.board.begin(2), h.board.begin(2)];
  const p = expectOk(h.balancer.pick(null, new Set([h.board.set.endpoints[0]!])));
  assert.equal(p.endpoint.name, 'svc-1');
  p.done(0, 'ok');
  for (const q of held) q.done(0, 'ok');
});

test('least-request: under random load, every pick costs the least of all usable endpoints (the heap agrees with a full scan)', () => {
  const h = harness({ algorithm: 'least-request' }, weighted([1, 3, 2, 1, 5, 1, 2, 4, 1, 1, 3, 2]), 11);
  const rng = seededRng(5);
  const live: Pick[] = [];
  const cost = (i: number): number => (h.board.loads[i]!.inflight + 1) / h.board.loads[i]!.endpoint.weight;
  for (let step = 0; step < 20_000; step++) {
    if (step === 5_000) h.board.setDown('svc-4', 'ejected', true);
    if (step === 10_000) h.board.setDown('svc-4', 'ejected', false);
    while (live.length > 0 && rng.below(3) !== 0) {
      const j = rng.below(live.length);
      live[j]!.done(0, 'ok');
      live[j] = live[live.length - 1]!;
      live.pop();
    }
    let least = Infinity;
    h.board.loads.forEach((l, i) => {
      if (l.available) least = Math.min(least, cost(i));
    });
    const p = expectOk(h.balancer.pick(null, null));
    const i = p.endpoint.index;
    assert.ok(h.board.loads[i]!.available, `step ${step}: picked unavailable ${p.endpoint.name}`);
    // The pick has already begun, so its cost is read as it was before.
    const before = h.board.loads[i]!.inflight / p.endpoint.weight;
    assert.ok(Math.abs(before - least) < 1e-9, `step ${step}: picked ${p.endpoint.name} at ${before}, least is ${least}`);
    live.push(p);
  }
  for (const p of live) p.done(0, 'ok');
  assertIdle(h.board, 'least-request');
});
