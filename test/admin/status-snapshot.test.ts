import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { ManualClock } from '../../src/balancer/clock.js';
import { createEndpointSet } from '../../src/balancer/endpoint.js';
import { seededRng } from '../../src/balancer/rng.js';
import { SharedLoads } from '../../src/balancer/shared-loads.js';
import { parseConfig } from '../../src/config/config.js';
import { createDataPlane } from '../../src/dataplane/create-data-plane.js';
import type { DataPlane } from '../../src/dataplane/data-plane.js';
import { buildStatus } from '../../src/admin/status-snapshot.js';
import { statusContext } from '../../src/admin/status-routes.js';
import { readThreadStatus } from '../../src/admin/thread-status.js';

const silent = pino({ level: 'silent' });
const config = parseConfig({
  balancer: { algorithm: 'ring-hash', boundedLoad: 2 },
  key: 'header:x-account',
  endpoints: [
    { name: 'pod-0', address: '127.0.0.1:9000', zone: 'a' },
    { name: 'pod-1', address: '127.0.0.1:9001', zone: 'b' },
    { name: 'pod-2', address: '127.0.0.1:9002', draining: true },
  ],
  proxy: { outlier: { consecutive5xx: 2, baseEjectionTimeMs: 30_000, maxEjectionPercent: 50 }, maxInflight: 7 },
});

/** Two threads' planes over one set of shared in-flight cells, as `--workers 2` builds them. */
function twoThreads(clock: ManualClock): DataPlane[] {
  const shared = SharedLoads.create(8);
  assert.ok(config.endpoints.kind === 'inline');
  const set = createEndpointSet(config.endpoints.specs, 4);
  shared.setSlots(['pod-0', 'pod-1', 'pod-2'], [2, 3, 4]);
  return [0, 1].map((i) => {
    const plane = createDataPlane(config, { logger: silent, shared, clock, rng: seededRng(i) });
    plane.apply(set);
    return plane;
  });
}

test('status: threads\' counts are summed, shared in-flight counts taken once, an ejection in one thread shows with its end', async () => {
  const clock = new ManualClock(1_000);
  const [one, two] = twoThreads(clock);
  try {
    const index = (name: string): number => one!.board.loads.findIndex((l) => l.endpoint.name === name);
    // Thread one: 3 requests to pod-0 (10 ms each), one left in flight; thread two: 2 to pod-0 and 2 failures at pod-1.
    const a = [0, 1, 2].map(() => one!.board.begin(index('pod-0')));
    clock.advance(10);
    a[0]!.done(clock.nowMs() - 10, 'ok');
    a[1]!.done(clock.nowMs() - 10, 'ok');
    for (let i = 0; i < 2; i++) two!.board.begin(index('pod-0')).done(clock.nowMs() - 20, 'ok');
    for (let i = 0; i < 2; i++) {
      two!.board.begin(index('pod-1')).done(clock.nowMs() - 5, 'http-5xx');
      two!.observe('pod-1', 'http-5xx', 500);
    }
    const views = [readThreadStatus(one!, 1), readThreadStatus(two!, 2)];
    assert.equal(views[0]!.sharedCounts, true);
    const s = buildStatus(views, statusContext(config), 3, 50_000, 777);
    assert.deepEqual([s.atMs, s.uptimeMs, s.threads, s.queued], [50_000, 777, 2, 3]);
    assert.deepEqual(s.balancer, { algorithm: 'ring-hash', keyless: 'p2c', boundedLoad: 2 });
    assert.deepEqual(s.set, { version: 4, generation: 3, endpoints: 3, inRotation: 1 });
    assert.deepEqual(s.totals, { requests: 7, failures: 2, inflight: 1 });
    const [p0, p1, p2] = s.endpoints;
    assert.deepEqual([p0!.name, p0!.zone, p0!.state, p0!.requests, p0!.samples, p0!.latencySumMs, p0!.inflight, p0!.maxInflight], ['pod-0', 'a', 'ready', 5, 4, 60, 1, 7]);
    assert.equal(p0!.latencyMs, 20, 'the highest thread\'s estimate');
    assert.equal(p0!.bound, 4, 'ceil(2 x (1 + 1) x 1 / 1): the only endpoint in rotation');
    assert.deepEqual([p1!.state, p1!.out, p1!.failures, p1!.bound], ['ejected', ['ejected'], 2, null]);
    assert.deepEqual(p1!.ejection, { untilMs: 50_000 + 30_000, reason: 'consecutive-5xx', threads: 1 });
    assert.deepEqual([p2!.state, p2!.out, p2!.ejection], ['draining', ['draining'], null]);
    a[2]!.done(clock.nowMs(), 'cancelled');
    assert.equal(buildStatus([readThreadStatus(one!, 0), readThreadStatus(two!, 0)], statusContext(config), null, 0, 0).totals.inflight, 0);
  } finally {
    await Promise.all([one!.close(), two!.close()]);
  }
});

test('status: threads with counts of their own add their in-flight requests', async () => {
  const clock = new ManualClock(0);
  const planes = [0, 1].map((i) => createDataPlane(config, { logger: silent, clock, rng: seededRng(i) }));
  try {
    assert.ok(config.endpoints.kind === 'inline');
    const set = createEndpointSet(config.endpoints.specs, 1);
    for (const p of planes) {
      p.apply(set);
      p.board.begin(0);
    }
    const s = buildStatus(planes.map((p) => readThreadStatus(p, 0)), statusContext(config), null, 0, 0);
    assert.deepEqual([s.endpoints[0]!.inflight, s.totals.inflight], [2, 2]);
  } finally {
    await Promise.all(planes.map((p) => p.close()));
  }
});
