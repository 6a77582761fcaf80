import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../src/balancer/clock.js';
import type { EndpointSet } from '../../src/balancer/endpoint.js';
import { EMPTY_SET, filterEndpointSet } from '../../src/balancer/endpoint.js';
import type { LoadWatcher } from '../../src/balancer/load-board.js';
import { DOWN, LoadBoard, validateMaxInflight } from '../../src/balancer/load-board.js';
import { SharedLoads } from '../../src/balancer/shared-loads.js';
import { SlotTable } from '../../src/balancer/shared-slots.js';
import { ConfigError } from '../../src/errors.js';
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

test('LoadBoard: setDown takes an endpoint out and back, and the mark survives later sets', () => {
  const { b } = board();
  b.sync(setOf(weighted([1, 2, 4]), 1));
  b.setDown('svc-2', 'ejected', true);
  assert.equal(b.availableWeight, 3);
  assert.equal(b.availableCount, 2);
  assert.equal(b.load('svc-2')!.available, false);
  assert.equal(b.isDown('svc-2', 'ejected'), true);
  assert.equal(b.isDown('svc-2', 'failed-check'), false);
  b.setDown('nobody', 'ejected', true);
  assert.equal(b.isDown('nobody', 'ejected'), false);
  // Discovery sends a new snapshot (another pod joins): the ejected endpoint stays out.
  b.sync(setOf(weighted([1, 2, 4, 8]), 2));
  assert.equal(b.load('svc-2')!.available, false, 'health is not reset by a new set');
  assert.equal(b.availableWeight, 11);
  b.setDown('svc-2', 'ejected', false);
  assert.equal(b.availableWeight, 15);
  // Draining comes from the set and wins over every mark.
  b.sync(setOf(weighted([1, 2, 4, 8]).map((e) => ({ ...e, draining: e.name === 'svc-3' })), 3));
  b.setDown('svc-3', 'ejected', false);
  assert.equal(b.load('svc-3')!.available, false);
  assert.equal(b.availableWeight, 7);
  b.sync(setOf(weighted([1, 2, 4, 8]), 4));
  assert.equal(b.load('svc-3')!.available, true, 'no longer draining');
  assert.equal(b.availableWeight, 15);
});

test('LoadBoard: availability is the AND of every mark; lifting one leaves the others', () => {
  const { b } = board();
  b.sync(setOf(specs(3), 1));
  b.setDown('svc-1', 'ejected', true);
  b.setDown('svc-1', 'failed-check', true);
  b.setDown('svc-1', 'ejected', false);
  assert.equal(b.load('svc-1')!.available, false, 'still failing its health checks');
  assert.equal(b.availableCount, 2);
  b.setDown('svc-1', 'failed-check', true);
  assert.equal(b.load('svc-1')!.down, DOWN['failed-check'], 'repeating a mark changes nothing');
  b.setDown('svc-1', 'failed-check', false);
  assert.equal(b.load('svc-1')!.available, true);
  assert.equal(b.availableCount, 3);
  // A name that leaves the set and comes back starts clean, as a new pod would.
  b.setDown('svc-2', 'failed-check', true);
  b.sync(setOf(specs(2), 2));
  b.sync(setOf(specs(3), 3));
  assert.equal(b.load('svc-2')!.available, true);
  assert.equal(b.isDown('svc-2', 'failed-check'), false);
});

test('LoadBoard: a name at a new address starts with no mark; its requests in flight stay counted', () => {
  const { b } = board();
  b.sync(setOf(specs(3), 1));
  b.setDown('svc-1', 'ejected', true);
  b.setDown('svc-1', 'failed-check', true);
  b.setDown('svc-2', 'ejected', true);
  b.begin(1);
  const load = b.load('svc-1')!;
  // svc-1 is rescheduled with a new IP; svc-2 keeps its address.
  const moved = specs(3).map((e) => (e.name === 'svc-1' ? { ...e, address: '10.9.9.9:8080' } : e));
  b.sync(setOf(moved, 2));
  assert.equal(b.load('svc-1'), load, 'the same load: keys and in-flight counts are by name');
  assert.equal(load.inflight, 1);
  assert.equal(load.down, 0, 'what failed was the pod at the old address');
  assert.equal(load.available, true);
  assert.equal(b.isDown('svc-2', 'ejected'), true, 'a name at the same address keeps its marks');
  assert.equal(b.availableCount, 2);
});

test('LoadBoard: the watcher hears of every availability change and only of changes', () => {
  const { b } = board();
  b.sync(setOf(specs(3), 1));
  let changes = 0;
  b.watcher = { loadChanged: () => undefined, availabilityChanged: () => void changes++ };
  b.setDown('svc-0', 'ejected', true);
  b.setDown('svc-0', 'failed-check', true);
  b.setDown('svc-0', 'ejected', false);
  assert.equal(changes, 1, 'only the first mark took it out');
  b.setDown('svc-0', 'failed-check', false);
  assert.equal(changes, 2);
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

test('LoadBoard: maxInflight sets every endpoint\'s limit; 0 is none; bad values name the field', () => {
  const limited = new LoadBoard(new ManualClock(), { maxInflight: 3 });
  limited.sync(setOf(specs(2)));
  assert.equal(limited.maxInflight, 3);
  assert.deepEqual(limited.loads.map((l) => l.limit), [3, 3]);
  const free = new LoadBoard(new ManualClock());
  free.sync(setOf(specs(1)));
  assert.equal(free.maxInflight, 0);
  assert.ok(free.loads[0]!.limit > 1_000_000_000, 'no limit is a limit nobody reaches');
  for (const bad of [-1, 1.5, Number.NaN, 2_000_000, '4', null]) {
    assert.throws(() => validateMaxInflight(bad, 'proxy.maxInflight'), (e: unknown) => e instanceof ConfigError && e.field === 'proxy.maxInflight' && /0 for no limit/.test(e.message), String(bad));
  }
  assert.equal(validateMaxInflight(0, 'x'), 0);
  assert.equal(validateMaxInflight(100, 'x'), 100);
  assert.throws(() => new LoadBoard(new ManualClock(), { maxInflight: -2 }), /maxInflight: is -2/);
});

test('LoadBoard: onCapacity fires when a full endpoint ends a request, not when one with room does', () => {
  const { b } = board();
  b.setMaxInflight(2);
  b.sync(setOf(specs(2)));
  let calls = 0;
  let seen = -1;
  b.onCapacity = () => {
    calls++;
    // The hook runs after the board's bookkeeping: a waiter may pick at once.
    seen = b.loads[0]!.inflight;
  };
  const p = b.begin(0);
  p.done(1_000, 'ok');
  assert.equal(calls, 0, 'it had room all along');
  b.begin(0);
  b.begin(0);
  p.done(1_000, 'cancelled');
  assert.equal(calls, 1);
  assert.equal(seen, 1);
  p.done(1_000, 'ok');
  assert.equal(calls, 1, 'already had room');
  p.done(1_000, 'ok');
  assert.equal(calls, 1, 'a stray done frees nothing');
});

test('LoadBoard: onCapacity fires when an endpoint comes back or the limit rises, never for a new set', () => {
  const { b } = board();
  b.sync(setOf(specs(2), 1));
  let calls = 0;
  b.onCapacity = () => void calls++;
  b.setDown('svc-0', 'ejected', true);
  assert.equal(calls, 0);
  b.setDown('svc-0', 'failed-check', true);
  b.setDown('svc-0', 'ejected', false);
  assert.equal(calls, 0, 'still out');
  b.setDown('svc-0', 'failed-check', false);
  assert.equal(calls, 1);
  b.setMaxInflight(4);
  assert.equal(calls, 1, 'from no limit to a limit frees nothing');
  b.setMaxInflight(8);
  assert.equal(calls, 2);
  assert.deepEqual(b.loads.map((l) => l.limit), [8, 8]);
  b.setMaxInflight(0);
  assert.equal(calls, 3);
  b.sync(setOf(specs(3), 2));
  assert.equal(calls, 3);
  assert.throws(() => b.setMaxInflight(-1), ConfigError);
});

test('LoadBoard: a request that ends on a removed endpoint frees no capacity', () => {
  const { b } = board();
  b.setMaxInflight(1);
  b.sync(setOf(specs(2), 1));
  let calls = 0;
  b.onCapacity = () => void calls++;
  const gone = b.begin(0);
  b.sync(setOf(specs(2).slice(1), 2));
  gone.done(1_000, 'ok');
  assert.equal(calls, 0);
});

/** Two boards on one set of shared cells, as two threads have them; slots from one table. */
function sharedPair(maxInflight = 0): { a: LoadBoard; b: LoadBoard; loads: SharedLoads; table: SlotTable; apply: (set: EndpointSet) => void } {
  const loads = SharedLoads.create(16);
  const views = [loads, new SharedLoads(loads.buffer)];
  const boards = views.map((shared) => new LoadBoard(new ManualClock(1_000), { shared, maxInflight }));
  const table = new SlotTable(loads);
  const apply = (set: EndpointSet): void => {
    const { slots } = table.assign(set);
    views.forEach((v, i) => {
      v.setSlots(set.endpoints.map((e) => e.name), slots);
      boards[i]!.sync(set);
    });
  };
  return { a: boards[0]!, b: boards[1]!, loads, table, apply };
}

test('LoadBoard with shared counts: each board sees the requests of the other; done returns both to zero', () => {
  const { a, b, apply } = sharedPair();
  apply(setOf(specs(3), 1));
  const p = a.begin(1);
  const q = b.claim(1)!;
  assert.equal(a.loads[1]!.inflight, 2);
  assert.equal(b.loads[1]!.inflight, 2);
  assert.equal(a.totalInflight, 2);
  assert.equal(a.loads[1]!.picks, 1, 'picks stay per board');
  assert.notEqual(p, q, 'pick objects stay per board');
  p.done(1_000, 'ok');
  assert.equal(b.loads[1]!.inflight, 1);
  q.done(1_000, 'ok');
  q.done(1_000, 'ok');
  assert.equal(a.loads[1]!.inflight, 0, 'a stray done never drives a shared count below zero');
  assert.equal(b.totalInflight, 0);
});

test('LoadBoard with shared counts: admit holds the limit and the load bound for both boards together, and a refusal changes nothing', () => {
  const { a, b, apply } = sharedPair(2);
  apply(setOf(specs(2), 1));
  const held = [a.admit(0, null)!, b.admit(0, null)!];
  assert.equal(a.admit(0, null), null, 'at the limit: the other board filled it');
  assert.equal(b.claim(0), null);
  assert.equal(a.loads[0]!.inflight, 2);
  assert.equal(a.totalInflight, 2);
  for (const p of held) p.done(1_000, 'ok');
  // Bounded loads, c = 1.25 over 2 endpoints: with T in flight (this one included) an endpoint
  // holds at most ceil(1.25 x T / 2).
  const { a: c, b: d, apply: applyBounded } = sharedPair();
  applyBounded(setOf(specs(2), 1));
  const got = [c.admit(0, 1.25)!, d.admit(0, 1.25)!];
  assert.equal(c.admit(0, 1.25), null, 'a third on endpoint 0 would be 3 > ceil(1.25 x 3 / 2) = 2');
  assert.equal(d.admit(0, 1.25), null);
  got.push(d.admit(1, 1.25)!);
  assert.ok(c.admit(0, 1.25) !== null, 'with 4 in flight, ceil(1.25 x 4 / 2) = 3');
  assert.equal(c.loads[0]!.inflight, 3);
  assert.equal(c.totalInflight, 4);
});

test('LoadBoard with shared counts: a removed endpoint\'s requests stay in the total until they end; back before they end, it finds them', () => {
  const { a, b, apply, table } = sharedPair();
  apply(setOf(specs(3), 1));
  const gone = a.begin(0);
  b.begin(0);
  const stays = b.begin(1);
  apply(setOf(specs(3).slice(1), 2));
  assert.equal(a.totalInflight, 3, 'the process still has three requests at pods');
  assert.equal(a.load('svc-0'), undefined);
  apply(setOf(specs(3), 3));
  assert.equal(a.load('svc-0')!.inflight, 2, 'the name kept its slot, and its requests');
  gone.done(1_000, 'ok');
  assert.equal(b.load('svc-0')!.inflight, 1);
  stays.done(1_000, 'ok');
  assert.equal(a.totalInflight, 1);
  assert.equal(table.retired, 0);
});

test('LoadBoard with shared counts: a set whose names came without slots is refused, and the board keeps the previous one', () => {
  const loads = SharedLoads.create(4);
  const b = new LoadBoard(new ManualClock(), { shared: loads });
  const first = setOf(specs(2), 1);
  loads.setSlots(['svc-0', 'svc-1'], [...new SlotTable(loads).assign(first).slots]);
  b.sync(first);
  const p = b.begin(1);
  assert.throws(() => b.sync(setOf(specs(3), 2)), /"svc-2" has no shared slot/);
  assert.equal(b.set, first);
  assert.equal(b.loads.length, 2);
  assert.equal(p.endpoint, first.endpoints[1], 'loads were not rebound');
  p.done(1_000, 'ok');
  assert.equal(b.totalInflight, 0);
});

/** Endpoints of `set` whose names are listed, as a set of their own (a view's). */
function part(set: EndpointSet, names: readonly string[]): EndpointSet {
  return filterEndpointSet(set, (e) => names.includes(e.name));
}

/** Records what a watcher hears. */
function recorder(): LoadWatcher & { readonly loads: number[]; availability: number } {
  const r = { loads: [] as number[], availability: 0, loadChanged: (i: number) => void r.loads.push(i), availabilityChanged: () => void r.availability++ };
  return r;
}

test('LoadBoard view: shares the root\'s loads by name, in its own order; a pick through either counts once for both', () => {
  const { b } = board();
  const set = setOf(specs(4));
  b.sync(set);
  const v = b.view();
  assert.equal(v.isView, true);
  assert.equal(b.isView, false);
  v.sync(part(set, ['svc-1', 'svc-3']));
  assert.deepEqual(v.loads, [b.loads[1], b.loads[3]], 'the same load objects');
  assert.equal(v.availableWeight, 2);
  const p = v.claim(1)!;
  assert.equal(p.endpoint, set.endpoints[3], 'the pick is the root endpoint\'s');
  assert.equal(b.loads[3]!.inflight, 1);
  assert.equal(b.totalInflight, 1);
  assert.equal(v.totalInflight, 1);
  b.begin(0);
  assert.equal(b.totalInflight, 2);
  assert.equal(v.totalInflight, 1, 'a view counts its own endpoints only');
  p.done(1_000, 'ok');
  b.loads[0]!.pick.done(1_000, 'ok');
  assert.equal(b.totalInflight, 0);
  assert.equal(v.load('svc-3'), b.load('svc-3'));
  assert.equal(v.load('svc-0'), undefined, 'not in the view');
});

test('LoadBoard view: marks belong to the root; a view forwards them and recounts when the root changes', () => {
  const { b } = board();
  const set = setOf(weighted([1, 2, 3, 4]));
  b.sync(set);
  const v = b.view();
  const w = recorder();
  v.watcher = w;
  v.sync(part(set, ['svc-2', 'svc-3']));
  assert.equal(v.availableWeight, 7);
  b.setDown('svc-3', 'ejected', true);
  assert.equal(v.availableWeight, 3);
  assert.equal(v.availableCount, 1);
  assert.equal(w.availability, 1);
  b.setDown('svc-0', 'ejected', true);
  assert.equal(w.availability, 1, 'not told of an endpoint it does not hold');
  v.setDown('svc-3', 'ejected', false);
  assert.equal(b.availableWeight, 9, 'forwarded to the root');
  assert.equal(v.availableWeight, 7);
  assert.equal(v.isDown('svc-0', 'ejected'), true, 'marks read from the root');
  v.setMaxInflight(5);
  assert.equal(b.maxInflight, 5);
  assert.equal(v.maxInflight, 5);
  assert.equal(b.loads[2]!.limit, 5);
  assert.equal(w.availability, 3);
});

test('LoadBoard view: its watcher hears of counts by its own index, whoever picked, and nothing once it syncs an empty set', () => {
  const { b } = board();
  const set = setOf(specs(4));
  b.sync(set);
  const root = recorder();
  b.watcher = root;
  const v = b.view();
  const w = recorder();
  v.watcher = w;
  v.sync(part(set, ['svc-1', 'svc-3']));
  assert.equal(b.viewCount, 1);
  const p = b.begin(3);
  const q = v.claim(0)!;
  p.done(1_000, 'ok');
  assert.deepEqual(root.loads, [3, 1, 3]);
  assert.deepEqual(w.loads, [1, 0, 1]);
  v.sync(EMPTY_SET);
  assert.equal(b.viewCount, 0, 'the root forgets a view that holds nothing');
  q.done(1_000, 'ok');
  assert.deepEqual(w.loads, [1, 0, 1], 'no longer told');
  assert.equal(b.loads[1]!.links.length, 0);
});

test('LoadBoard view: bounded loads are judged over the view\'s own endpoints and weight', () => {
  const { b } = board();
  const set = setOf(specs(4));
  b.sync(set);
  const v = b.view();
  v.sync(part(set, ['svc-0', 'svc-1']));
  // Requests elsewhere do not loosen the view's bounds: 10 on svc-3.
  for (let i = 0; i < 10; i++) b.begin(3);
  // Bounds over the view's 2 endpoints: ceil(1.25 x (T + 1) / 2) with T in flight in the view.
  assert.equal(v.admit(0, 1.25)?.kind, 'ok', '1 <= ceil(1.25 x 1 / 2) = 1');
  assert.equal(v.admit(0, 1.25)?.kind, 'ok', '2 <= ceil(1.25 x 2 / 2) = 2');
  assert.equal(v.admit(0, 1.25), null, 'a third would be 3 > ceil(1.25 x 3 / 2) = 2');
  assert.equal(b.admit(0, 1.25)?.kind, 'ok', 'the root judges over all four endpoints and 12 requests');
});

test('LoadBoard view: a view of a view is a view of the root; a name the root lacks is refused and changes nothing', () => {
  const { b } = board();
  const set = setOf(specs(3));
  b.sync(set);
  const v = b.view().view();
  v.sync(part(set, ['svc-0']));
  assert.equal(v.loads[0], b.loads[0]);
  const before = v.set;
  assert.throws(() => v.sync(setOf(specs(5).slice(3), 2)), /"svc-3" is not in its root board's set/);
  assert.equal(v.set, before);
});

test('LoadBoard view with shared counts: a view in each thread sees the other\'s requests, and the limit holds across them', () => {
  const { a, b, apply } = sharedPair(2);
  const set = setOf(specs(3), 1);
  apply(set);
  const va = a.view();
  const vb = b.view();
  va.sync(part(set, ['svc-1', 'svc-2']));
  vb.sync(part(set, ['svc-2']));
  const p = va.claim(1)!;
  const q = a.claim(2)!;
  assert.equal(vb.loads[0]!.inflight, 2, 'the other thread\'s view reads the same cell');
  assert.equal(vb.claim(0), null, 'at the limit of 2, set by a view and a root of the other thread');
  assert.equal(vb.admit(0, null), null);
  assert.equal(vb.totalInflight, 2);
  p.done(1_000, 'ok');
  assert.equal(vb.claim(0)?.endpoint.name, 'svc-2');
  assert.equal(b.totalInflight, 2);
  q.done(1_000, 'ok');
});
