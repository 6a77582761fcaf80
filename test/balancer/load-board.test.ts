import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../src/balancer/clock.js';
import { LoadBoard } from '../../src/balancer/load-board.js';
import { setOf, specs, weighted } from './helpers.js';

function board(decayMs = 10_000, defaultRttMs = 10): { b: LoadBoard; clock: ManualClock } {
  const clock = new ManualClock(1_000);
  return { b: new LoadBoard(clock, { decayMs, defaultRttMs }), clock };
}

test('LoadBoard: sync aligns loads with the set by index; the same set is a no-op', () => {
  const { b } = board();
  const set = setOf([...weighted([1, 2, 3]).map((e, i) => ({ ...e, draining: i === 2 }))]);
  b.sync(set);
  assert.equal(b.set, set);
  assert.deepEqual(b.loads.map((l) => l.endpoint), set.endpoints);
  assert.equal(b.availableWeight, 3);
  assert.equal(b.availableCount, 2);
  const loads = b.loads;
  b.sync(set);
  assert.equal(b.loads, loads, 'no rebuild for the same set');
  assert.deepEqual(new LoadBoard(new ManualClock()).loads, []);
});

test('LoadBoard: begin counts a request, its done uncounts it; outcomes do not matter', () => {
  const { b } = board();
  b.sync(setOf(specs(3)));
  const p = b.begin(1);
  assert.equal(p.kind, 'ok');
  assert.equal(p.endpoint.name, 'svc-1');
  assert.equal(b.begin(1), p, 'pick objects are shared, not built per request');
  assert.equal(b.loads[1]!.inflight, 2);
  assert.equal(b.totalInflight, 2);
  assert.equal(b.loads[1]!.picks, 2);
  p.done(1_000, 'timeout');
  p.done(1_000, 'cancelled');
  assert.equal(b.loads[1]!.inflight, 0);
  assert.equal(b.totalInflight, 0);
  // A stray extra done never drives a count below zero.
  p.done(1_000, 'ok');
  assert.equal(b.loads[1]!.inflight, 0);
  assert.equal(b.totalInflight, 0);
});

test('LoadBoard: in-flight requests survive a set swap, kept by endpoint name', () => {
  const { b } = board();
  b.sync(setOf(specs(3), 1));
  const p = b.begin(2);
  const moved = specs(3).map((e) => ({ ...e, address: `192.168.0.1:${9000}` }));
  b.sync(setOf(moved, 2));
  assert.equal(b.loads[2]!.inflight, 1);
  assert.equal(b.totalInflight, 1);
  assert.equal(p.endpoint.address, '192.168.0.1:9000', 'the shared pick follows the endpoint');
  p.done(1_000, 'ok');
  assert.equal(b.totalInflight, 0);
});

test('LoadBoard: a request on a removed endpoint leaves the total, and its done does not disturb it', () => {
  const { b } = board();
  b.sync(setOf(specs(3), 1));
  const gone = b.begin(0);
  const stays = b.begin(1);
  b.sync(setOf(specs(3).slice(1), 2));
  assert.equal(b.totalInflight, 1, 'only requests on current endpoints count');
  gone.done(1_000, 'ok');
  assert.equal(b.totalInflight, 1);
  // The name comes back: a fresh load, untouched by the old request.
  b.sync(setOf(specs(3), 3));
  assert.equal(b.load('svc-0')!.inflight, 0);
  assert.equal(b.totalInflight, 1);
  stays.done(1_000, 'ok');
  assert.equal(b.totalInflight, 0);
});

test('LoadBoard: setAvailable takes an endpoint out and back, and survives later sets', () => {
  const { b } = board();
  b.sync(setOf(weighted([1, 2, 4]), 1));
  b.setAvailable('svc-2', false);
  assert.equal(b.availableWeight, 3);
  assert.equal(b.availableCount, 2);
  assert.equal(b.load('svc-2')!.available, false);
  b.setAvailable('nobody', false);
  // Discovery sends a new snapshot (another pod joins): the ejected endpoint stays out.
  b.sync(setOf(weighted([1, 2, 4, 8]), 2));
  assert.equal(b.load('svc-2')!.available, false, 'health is not reset by a new set');
  assert.equal(b.availableWeight, 11);
  b.setAvailable('svc-2', true);
  assert.equal(b.availableWeight, 15);
  // Draining comes from the set and wins over health.
  b.sync(setOf(weighted([1, 2, 4, 8]).map((e) => ({ ...e, draining: e.name === 'svc-3' })), 3));
  b.setAvailable('svc-3', true);
  assert.equal(b.load('svc-3')!.available, false);
  assert.equal(b.availableWeight, 7);
  b.sync(setOf(weighted([1, 2, 4, 8]), 4));
  assert.equal(b.load('svc-3')!.available, true, 'no longer draining');
  assert.equal(b.availableWeight, 15);
});

test('peak-EWMA: the default RTT until the first sample, which replaces it', () => {
  const { b, clock } = board(10_000, 50);
  b.sync(setOf(specs(1)));
  const l = b.loads[0]!;
  assert.equal(l.latencyMs(clock.nowMs(), b.decayMs), 50);
  const p = b.begin(0);
  clock.advance(5);
  p.done(clock.nowMs() - 5, 'ok');
  assert.equal(l.latencyMs(clock.nowMs(), b.decayMs), 5, 'a first sample below the default replaces it');
  assert.equal(l.hasSample, true);
});

test('peak-EWMA: a higher sample is taken at once, a lower one is blended in', () => {
  const { b, clock } = board(10_000, 10);
  b.sync(setOf(specs(1)));
  const l = b.loads[0]!;
  const sample = (rtt: number): number => {
    const p = b.begin(0);
    clock.advance(rtt);
    p.done(clock.nowMs() - rtt, 'ok');
    return l.latencyMs(clock.nowMs(), b.decayMs);
  };
  sample(20);
  assert.equal(sample(200), 200, 'the peak');
  const before = l.latencyMs(clock.nowMs() + 5, b.decayMs);
  const after = sample(5);
  assert.ok(after < before && after > 5, `a fast sample pulls the estimate down, not to it: ${before} -> ${after}`);
  // Many fast samples converge on the fast latency.
  let last = after;
  for (let i = 0; i < 5_000; i++) last = sample(5);
  assert.ok(last < 6, `converged to ${last}`);
});

test('peak-EWMA: the estimate decays toward zero when read, with the configured time constant', () => {
  const { b, clock } = board(1_000, 10);
  b.sync(setOf(specs(1)));
  const l = b.loads[0]!;
  const p = b.begin(0);
  clock.advance(100);
  p.done(clock.nowMs() - 100, 'ok');
  const t = clock.nowMs();
  assert.equal(l.latencyMs(t, 1_000), 100);
  assert.ok(Math.abs(l.latencyMs(t + 1_000, 1_000) - 100 / Math.E) < 1e-9);
  assert.ok(l.latencyMs(t + 20_000, 1_000) < 1e-6);
  // Reading does not change the estimate.
  assert.equal(l.latencyMs(t, 1_000), 100);
  assert.equal(l.latencyMs(t - 50, 1_000), 100, 'a read before the stamp is not inflated');
});

test('peak-EWMA: failures count as slow, cancellations leave no sample', () => {
  const { b, clock } = board(10_000, 10);
  b.sync(setOf(specs(2)));
  const fail = b.begin(0);
  clock.advance(1);
  fail.done(clock.nowMs() - 1, 'connect-failed');
  assert.ok(b.loads[0]!.latencyMs(clock.nowMs(), b.decayMs) >= 50, 'a 1 ms failure counts as 5 x the default');
  assert.equal(b.loads[0]!.failures, 1);
  const cancelled = b.begin(1);
  clock.advance(500);
  cancelled.done(clock.nowMs() - 500, 'cancelled');
  assert.equal(b.loads[1]!.hasSample, false);
  assert.equal(b.loads[1]!.inflight, 0);
  assert.equal(b.loads[1]!.failures, 0);
});
