import assert from 'node:assert/strict';
import { test } from 'node:test';
import { seededRng } from '../../../src/balancer/rng.js';
import { Backoff } from '../../../src/discovery/k8s/backoff.js';

test('backoff: each delay lies in the upper half of a doubling ceiling, capped at maxMs', () => {
  const b = new Backoff(seededRng(3), { initialMs: 100, maxMs: 1_000 });
  const ceilings = [100, 200, 400, 800, 1_000, 1_000, 1_000];
  for (const c of ceilings) {
    const d = b.nextDelayMs();
    assert.ok(d >= c / 2 && d <= c, `delay ${d} outside [${c / 2}, ${c}]`);
  }
});

test('backoff: jittered (two seeds differ), deterministic per seed, and reset starts over', () => {
  const run = (seed: number): number[] => {
    const b = new Backoff(seededRng(seed), { initialMs: 1_000, maxMs: 60_000 });
    return Array.from({ length: 6 }, () => b.nextDelayMs());
  };
  assert.deepEqual(run(5), run(5));
  assert.notDeepEqual(run(5), run(6));
  const b = new Backoff(seededRng(9), { initialMs: 100, maxMs: 10_000 });
  for (let i = 0; i < 5; i++) b.nextDelayMs();
  b.reset();
  assert.ok(b.nextDelayMs() <= 100);
});

test('backoff: bad bounds are refused', () => {
  assert.throws(() => new Backoff(seededRng(1), { initialMs: 0 }), /initialMs \(0\)/);
  assert.throws(() => new Backoff(seededRng(1), { initialMs: 100, maxMs: 50 }), /maxMs \(50\)/);
});

test('backoff: a wait the server asks for is honoured, up to maxMs; a shorter one changes nothing', () => {
  const same = (atLeastMs: number): number[] => {
    const b = new Backoff(seededRng(4), { initialMs: 100, maxMs: 2_000 });
    return [b.nextDelayMs(atLeastMs), b.nextDelayMs()];
  };
  const [plain] = same(0);
  assert.ok(plain! <= 100);
  assert.deepEqual(same(50), same(0), 'below the jittered delay: no effect');
  assert.equal(same(1_000)[0], 1_000);
  assert.equal(same(60_000)[0], 2_000, 'capped at maxMs');
  assert.deepEqual(same(1_000)[1], same(0)[1], 'the exponent advances as usual');
});
