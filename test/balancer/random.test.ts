import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../src/balancer/clock.js';
import { LoadBoard } from '../../src/balancer/load-board.js';
import { RandomBalancer } from '../../src/balancer/random.js';
import { seededRng } from '../../src/balancer/rng.js';
import { contract, countOf, excluding, expectOk, harness, pickNames, setOf, specs, weighted } from './helpers.js';

contract({ label: 'random', config: { algorithm: 'random' }, endpoints: specs(5), allDraining: 'all-unavailable', allExcluded: 'all-unavailable', keys: null });

test('random: weights are honoured (1:2:3:4 within 5%)', () => {
  const weights = [1, 2, 3, 4];
  const h = harness({ algorithm: 'random' }, weighted(weights));
  const n = 100_000;
  const names = pickNames(h.balancer, n);
  weights.forEach((w, i) => {
    const share = countOf(names, `svc-${i}`) / n;
    const want = w / 10;
    assert.ok(Math.abs(share - want) / want < 0.05, `svc-${i}: ${share} of picks, want ${want}`);
  });
});

test('random: equal weights share evenly', () => {
  const h = harness({ algorithm: 'random' }, specs(7));
  const n = 70_000;
  const names = pickNames(h.balancer, n);
  for (let i = 0; i < 7; i++) {
    const c = countOf(names, `svc-${i}`);
    assert.ok(Math.abs(c - 10_000) < 500, `svc-${i}: ${c}`);
  }
});

test('random: excluded and draining endpoints are skipped, the rest keep their proportions', () => {
  const h = harness({ algorithm: 'random' }, weighted([1, 1, 8, 2]).map((e) => ({ ...e, draining: e.name === 'svc-0' })));
  const exclude = excluding(h.board.set, ['svc-2']);
  const counts = new Map<string, number>();
  for (let i = 0; i < 30_000; i++) {
    const p = expectOk(h.balancer.pick(null, exclude));
    counts.set(p.endpoint.name, (counts.get(p.endpoint.name) ?? 0) + 1);
    p.done(0, 'ok');
  }
  assert.deepEqual([...counts.keys()].sort(), ['svc-1', 'svc-3']);
  const ratio = counts.get('svc-3')! / counts.get('svc-1')!;
  assert.ok(ratio > 1.7 && ratio < 2.3, `svc-3 : svc-1 = ${ratio}, want 2`);
});

test('random: the same seed makes the same choices', () => {
  const run = (): string[] => {
    const b = new RandomBalancer(new LoadBoard(new ManualClock()), seededRng(123));
    b.update(setOf(weighted([3, 1, 4, 1, 5])));
    return pickNames(b, 200);
  };
  assert.deepEqual(run(), run());
});
