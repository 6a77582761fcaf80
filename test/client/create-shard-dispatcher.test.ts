/**
 * Creating the dispatcher: every service is checked before any opens; two names for one origin,
 * no services and a bad timeout are refused by name; a service that cannot open closes the ones
 * that did.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createShardDispatcher } from '../../src/client/create-shard-dispatcher.js';
import type { ShardDispatcherOptions } from '../../src/client/create-shard-dispatcher.js';
import { ConfigError } from '../../src/errors.js';
import { closeBackends, endpointSpecs, startBackends } from '../helpers/backends.js';
import { silent } from '../helpers/shard-client.js';

const refuses = (options: unknown, field: string, part: string): Promise<void> =>
  assert.rejects(createShardDispatcher({ logger: silent, ...(options as ShardDispatcherOptions) }), (e: unknown) => e instanceof ConfigError && e.field === field && e.message.includes(part));

test('create: services must name at least one service; firstSetTimeoutMs is whole milliseconds', async () => {
  await refuses({}, 'services', 'name at least one service');
  await refuses({ services: {} }, 'services', 'name at least one service');
  await refuses({ services: [] }, 'services', 'is []');
  await refuses({ services: { 'a:80': { endpoints: [{ name: 'p', address: '127.0.0.1:1' }] } }, firstSetTimeoutMs: 0.5 }, 'firstSetTimeoutMs', 'whole milliseconds');
});

test('create: two names for one origin are refused; a bad service is refused before any opens', async () => {
  const endpoints = [{ name: 'p', address: '127.0.0.1:1' }];
  await refuses({ services: { 'svc:80': { endpoints }, 'http://svc': { endpoints } } }, 'services["http://svc"]', 'as services["svc:80"] does');
  await refuses({ services: { 'svc:80': { endpoints }, 'other:80': { endpoints, balancer: { algorithm: 'nope' } } } }, 'balancer.algorithm', 'nope');
});

test('create: when one service cannot open, the start fails naming the one at fault', async (t) => {
  const backends = await startBackends(1);
  t.after(() => closeBackends(backends));
  await assert.rejects(
    createShardDispatcher({
      logger: silent,
      services: {
        'good:80': { endpoints: endpointSpecs(backends) },
        'bad:80': { endpointsFile: '/nonexistent/endpoints.yaml' },
      },
    }),
    (e: unknown) => e instanceof ConfigError && e.message.includes('services["bad:80"]') && e.message.includes('/nonexistent/endpoints.yaml'),
  );
});
