/**
 * The retry interceptor over the pick interceptor: a failed attempt re-enters the chain below it,
 * which an interceptor composed between the two sees, and the pick leaves out the endpoint tried.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Agent, request } from 'undici';
import { pickInterceptor } from '../../src/client/pick-interceptor.js';
import { retryInterceptor } from '../../src/client/retry-interceptor.js';
import { closeBackends, closedPort, endpointSpecs, startBackends } from '../helpers/backends.js';
import { SERVICE, SERVICE_URL } from '../helpers/shard-client.js';
import { openServiceTable } from '../helpers/shard-services.js';

test('retry interceptor: each attempt re-enters the pick interceptor, and lands on the key\'s next owner', async (t) => {
  const backends = await startBackends(3);
  t.after(() => closeBackends(backends));
  const dead = { name: 'pod-dead', address: `127.0.0.1:${await closedPort()}` };
  const table = await openServiceTable(t, { [SERVICE]: { endpoints: [...endpointSpecs(backends), dead], balancer: { algorithm: 'rendezvous' }, key: 'header:x-tenant', proxy: { outlier: false } } });
  const plane = table.byName(SERVICE)!.plane;
  const agent = new Agent();
  t.after(() => agent.close());
  let entered = 0;
  const d = agent.compose(
    pickInterceptor(table),
    (dispatch) => (opts, handler) => {
      entered++;
      return dispatch(opts, handler);
    },
    retryInterceptor(table),
  );
  const deadEndpoint = plane.current!.endpoints.find((e) => e.name === 'pod-dead')!;
  const key = Array.from({ length: 100 }, (_, i) => `tenant-${i}`).find((k) => {
    const p = plane.balancer.pick(plane.key(k), null);
    assert.ok(p.kind === 'ok');
    p.done(0, 'cancelled');
    return p.endpoint.name === 'pod-dead';
  })!;
  const next = plane.balancer.pick(plane.key(key), new Set([deadEndpoint]));
  assert.ok(next.kind === 'ok');
  next.done(0, 'cancelled');
  const r = await request(`${SERVICE_URL}/`, { dispatcher: d, headers: { 'x-tenant': key } });
  assert.equal(await r.body.text(), next.endpoint.name);
  assert.equal(entered, 2, 'the first attempt and the retry');
  assert.equal(plane.retries!.retriedCount, 1);
  assert.equal(plane.board.totalInflight, 0);
});
