import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { SharedLoads } from '../../src/balancer/shared-loads.js';
import { createDataPlane } from '../../src/dataplane/create-data-plane.js';
import { parseConfig } from '../../src/config/config.js';
import { createEndpointSet } from '../../src/balancer/endpoint.js';

const silent = pino({ level: 'silent' });

test('createDataPlane: the board and the balancer one thread needs, over shared counts when given', async () => {
  const config = parseConfig({ balancer: { algorithm: 'ring-hash', boundedLoad: 1.25, keyless: 'peak-ewma', decayMs: 2_000 }, key: 'header:x-affinity', endpoints: [{ name: 'pod-0', address: '127.0.0.1:9000' }] });
  const shared = SharedLoads.create(8);
  const plane = createDataPlane(config, { logger: silent, shared });
  assert.equal(plane.board.shared, shared);
  assert.equal(plane.board.decayMs, 2_000, 'the keyless fallback\'s peak-EWMA options reach the board');
  assert.equal(plane.balancer.algorithm, 'ring-hash');
  assert.equal(plane.balancer.keyed, true);
  const own = createDataPlane(config, { logger: silent });
  assert.equal(own.board.shared, null);
  assert.equal(plane.keySource?.kind, 'header');
  await Promise.all([plane.close(), own.close()]);
});

test('createDataPlane: a zone makes keyless picks prefer it, and subsets share the one board', async () => {
  const endpoints = [
    { name: 'pod-0', address: '127.0.0.1:9000', zone: 'a', labels: { version: 'v1' } },
    { name: 'pod-1', address: '127.0.0.1:9001', zone: 'b', labels: { version: 'v2' } },
  ];
  const config = parseConfig({ balancer: { algorithm: 'round-robin' }, zone: 'a', subsets: { selectors: [{ header: 'x-version', label: 'version' }], fallback: 'fail' }, endpoints });
  const plane = createDataPlane(config, { logger: silent, shared: SharedLoads.create(8) });
  try {
    assert.ok(config.endpoints.kind === 'inline');
    const set = createEndpointSet(config.endpoints.specs, 1);
    plane.board.shared!.setSlots(['pod-0', 'pod-1'], [2, 3]);
    plane.apply(set);
    for (let i = 0; i < 5; i++) {
      const p = plane.balancer.pick(null, null);
      assert.ok(p.kind === 'ok' && p.endpoint.name === 'pod-0', 'zone a first');
      p.done(0, 'ok');
    }
    const v2 = plane.subsets!.select(['v2'])!;
    const p = v2.pick(null, null);
    assert.ok(p.kind === 'ok' && p.endpoint.name === 'pod-1');
    assert.equal(plane.board.load('pod-1')!.inflight, 1, 'counted on the one board');
    // The own zone and the others for the whole set, and one per subset: each subset has one zone, so no preference within it.
    assert.equal(plane.board.viewCount, 4);
    p.done(0, 'ok');
    assert.equal(plane.subsets!.select(['v9']), null);
  } finally {
    await plane.close();
  }
});
