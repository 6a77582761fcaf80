import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock, monotonicClock } from '../../src/balancer/clock.js';

test('ManualClock: moves only when told', () => {
  const c = new ManualClock(5);
  assert.equal(c.nowMs(), 5);
  assert.equal(c.nowMs(), 5);
  c.advance(10.5);
  assert.equal(c.nowMs(), 15.5);
  assert.equal(new ManualClock().nowMs(), 0);
});

test('monotonicClock: never goes back', () => {
  let last = monotonicClock.nowMs();
  for (let i = 0; i < 1_000; i++) {
    const now = monotonicClock.nowMs();
    assert.ok(now >= last);
    last = now;
  }
});
