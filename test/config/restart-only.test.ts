import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../src/config/config.js';
import { planReload } from '../../src/config/restart-only.js';

const ENDPOINTS = [{ name: 'pod-0', address: '127.0.0.1:9000' }];

test('planReload: restart-only changes are named and keep their running values; the rest is taken', () => {
  const running = parseConfig({ listen: '127.0.0.1:8080', workers: 2, endpoints: ENDPOINTS, balancer: { algorithm: 'p2c' } });
  const next = parseConfig({
    listen: '127.0.0.1:9090',
    workers: 2,
    endpoints: [...ENDPOINTS, { name: 'pod-1', address: '127.0.0.1:9001' }],
    balancer: { algorithm: 'maglev' },
    key: 'header:x-k',
    proxy: { timeouts: { connectMs: 500, clientIdleMs: 5 }, maxHeaderCount: 50, maxInflight: 3 },
  });
  const plan = planReload(running, next);
  assert.deepEqual(plan.restartNeeded, ['listen', 'endpoints', 'proxy.maxHeaderCount', 'proxy.timeouts.clientIdleMs']);
  assert.deepEqual(plan.config.listen, running.listen);
  assert.deepEqual(plan.config.endpoints, running.endpoints);
  assert.equal(plan.config.proxy.maxHeaderCount, running.proxy.maxHeaderCount);
  assert.equal(plan.config.proxy.timeouts.clientIdleMs, running.proxy.timeouts.clientIdleMs);
  // Applied:
  assert.equal(plan.config.balancer.algorithm, 'maglev');
  assert.equal(plan.config.key, 'header:x-k');
  assert.equal(plan.config.proxy.timeouts.connectMs, 500);
  assert.equal(plan.config.proxy.maxInflight, 3);
});

test('planReload: the same configuration needs no restart and changes nothing', () => {
  const a = parseConfig({ endpoints: ENDPOINTS, workers: 1 });
  const b = parseConfig({ endpoints: ENDPOINTS, workers: 1, listen: '0.0.0.0:8080' });
  const plan = planReload(a, b);
  assert.deepEqual(plan.restartNeeded, []);
  assert.deepEqual(plan.config, b);
});
