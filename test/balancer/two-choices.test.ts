import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Pick } from '../../src/balancer/balancer.js';
import { assertIdle, contract, countOf, expectOk, harness, pickNames, specs, weighted } from './helpers.js';

contract({ label: 'p2c', config: { algorithm: 'p2c' }, endpoints: specs(5), allDraining: 'all-unavailable', allExcluded: 'all-unavailable', keys: null });
contract({ label: 'peak-ewma', config: { algorithm: 'peak-ewma', decayMs: 10_000, defaultRttMs: 10 }, endpoints: specs(5), allDraining: 'all-unavailable', allExcluded: 'all-unavailable', keys: null });

test('p2c: with two endpoints, never the more loaded one', () => {
  for (let seed = 0; seed < 5; seed++) {
    const h = harness({ algorithm: 'p2c' }, specs(2), seed);
    const held: Pick[] = [];
    for (let i = 0; i < 3; i++) held.push(h.board.begin(0));
    for (let step = 0; step < 500; step++) {
      const before = h.board.loads.map((l) => l.inflight);
      const p = expectOk(h.balancer.pick(null, null));
      const i = p.endpoint.index;
      assert.ok(before[i]! <= before[1 - i]!, `seed ${seed} step ${step}: picked ${i} with loads ${before.join('/')}`);
      if (step % 3 === 0) p.done(0, 'ok');
      else held.push(p);
      // Complete some old requests so that loads keep changing.
      if (step % 5 === 0 && held.length > 0) held.shift()!.done(0, 'ok');
    }
    for (const p of held) p.done(0, 'ok');
    assertIdle(h.board, 'p2c');
  }
});

test('p2c: with two equally loaded endpoints, both are used', () => {
  const h = harness({ algorithm: 'p2c' }, specs(2));
  const names = pickNames(h.balancer, 1_000);
  assert.ok(countOf(names, 'svc-0') > 300 && countOf(names, 'svc-1') > 300);
});

test('p2c: a loaded endpoint gets far fewer new requests than the others', () => {
  const h = harness({ algorithm: 'p2c' }, specs(5));
  const held: Pick[] = [];
  for (let i = 0; i < 10; i++) held.push(h.board.begin(0));
  const names = pickNames(h.balancer, 5_000);
  // svc-0 wins only when drawn with itself, which p2c never does: it is never chosen.
  assert.equal(countOf(names, 'svc-0'), 0);
  for (const p of held) p.done(0, 'ok');
});

test('p2c: weights scale the cost', () => {
  const h = harness({ algorithm: 'p2c' }, weighted([1, 9]));
  const held: Pick[] = [];
  for (let i = 0; i < 100; i++) held.push(expectOk(h.balancer.pick(null, null)));
  const [a, b] = h.board.loads.map((l) => l.inflight);
  assert.ok(a! >= 9 && a! <= 11 && b! >= 89, `in-flight ${a}/${b}`);
  for (const p of held) p.done(0, 'ok');
});

test('p2c: one usable endpoint among two takes every request', () => {
  const h = harness({ algorithm: 'p2c' }, specs(2));
  const ex = new Set([h.board.set.endpoints[1]!]);
  for (let i = 0; i < 50; i++) {
    const p = expectOk(h.balancer.pick(null, ex));
    assert.equal(p.endpoint.name, 'svc-0');
    p.done(0, 'ok');
  }
});

function ewma(decayMs = 10_000): { h: ReturnType<typeof harness>; sample: (name: string, rttMs: number) => void } {
  const h = harness({ algorithm: 'peak-ewma', decayMs, defaultRttMs: 10 }, specs(2));
  const sample = (name: string, rttMs: number): void => {
    const p = h.board.begin(h.board.set.byName.get(name)!.index);
    const start = h.clock.nowMs();
    h.clock.advance(rttMs);
    p.done(start, 'ok');
  };
  return { h, sample };
}

test('peak-ewma: prefers the endpoint that answers faster', () => {
  const { h, sample } = ewma();
  sample('svc-0', 100);
  sample('svc-1', 5);
  const names = pickNames(h.balancer, 200);
  assert.equal(countOf(names, 'svc-1'), 200, 'with two endpoints and no load, always the faster');
  // Load on the fast one: 5 ms x 25 in flight is worse than 100 ms x 1.
  const held: Pick[] = [];
  for (let i = 0; i < 24; i++) held.push(h.board.begin(1));
  const p = expectOk(h.balancer.pick(null, null));
  assert.equal(p.endpoint.name, 'svc-0');
  p.done(h.clock.nowMs(), 'cancelled');
  for (const q of held) q.done(h.clock.nowMs(), 'cancelled');
  assertIdle(h.board, 'peak-ewma');
});

test('peak-ewma: a slow endpoint left alone is forgotten and tried again', () => {
  const { h, sample } = ewma(10_000);
  sample('svc-0', 200);
  sample('svc-1', 20);
  assert.equal(expectOk(h.balancer.pick(null, null)).endpoint.name, 'svc-1');
  h.board.loads[1]!.pick.done(h.clock.nowMs(), 'cancelled');
  // Traffic keeps flowing to svc-1 at 20 ms; svc-0's old 200 ms sample decays meanwhile.
  let firstBack = -1;
  for (let second = 1; second <= 120 && firstBack < 0; second++) {
    for (let i = 0; i < 10; i++) {
      h.clock.advance(80);
      sample('svc-1', 20);
    }
    const p = expectOk(h.balancer.pick(null, null));
    if (p.endpoint.name === 'svc-0') firstBack = second;
    p.done(h.clock.nowMs(), 'cancelled');
  }
  // 200 x exp(-t / 10 s) falls below 20 after about 23 s.
  assert.ok(firstBack >= 20 && firstBack <= 30, `svc-0 tried again after ${firstBack} s`);
});
