import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { SharedLoads } from '../../src/balancer/shared-loads.js';
import { createDataPlane } from '../../src/cluster/data-plane.js';
import { parseConfig } from '../../src/config/config.js';

const silent = pino({ level: 'silent' });

test('createDataPlane: the board, the balancer and the proxy one thread needs, over shared counts when given', async () => {
  const config = parseConfig({ balancer: { algorithm: 'ring-hash', boundedLoad: 1.25, keyless: 'peak-ewma', decayMs: 2_000 }, key: 'header:x-affinity', endpoints: [{ name: 'pod-0', address: '127.0.0.1:9000' }] });
  const shared = SharedLoads.create(8);
  const plane = await createDataPlane(config, { logger: silent, shared });
  assert.equal(plane.board.shared, shared);
  assert.equal(plane.board.decayMs, 2_000, 'the keyless fallback\'s peak-EWMA options reach the board');
  assert.equal(plane.balancer.algorithm, 'ring-hash');
  assert.equal(plane.balancer.keyed, true);
  const own = await createDataPlane(config, { logger: silent });
  assert.equal(own.board.shared, null);
  await Promise.all([plane.proxy.close(), own.proxy.close()]);
});
