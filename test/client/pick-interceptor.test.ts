/**
 * The pick interceptor composed alone over an undici Agent: a managed request goes to its key's
 * owner, with no retry (a refused owner fails the request), and ends its pick; any other origin
 * reaches the Agent.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Agent, request } from 'undici';
import { pickInterceptor } from '../../src/client/pick-interceptor.js';
import { closeBackends, closedPort, endpointSpecs, startBackends } from '../helpers/backends.js';
import { SERVICE, SERVICE_URL } from '../helpers/shard-client.js';
import { openServiceTable } from '../helpers/shard-services.js';

test('pick interceptor alone: owners, no retries, other origins to the Agent', async (t) => {
  const backends = await startBackends(3);
  t.after(() => closeBackends(backends));
  const dead = { name: 'pod-dead', address: `127.0.0.1:${await closedPort()}` };
  const table = await openServiceTable(t, { [SERVICE]: { endpoints: [...endpointSpecs(backends), dead], balancer: { algorithm: 'rendezvous' }, key: 'header:x-tenant', proxy: { outlier: false } } });
  const agent = new Agent();
  t.after(() => agent.close());
  const d = agent.compose(pickInterceptor(table));
  const plane = table.byName(SERVICE)!.plane;
  let refused = 0;
  for (let i = 0; i < 40; i++) {
    const key = `tenant-${i}`;
    const pick = plane.balancer.pick(plane.key(key), null);
    assert.ok(pick.kind === 'ok');
    pick.done(0, 'cancelled');
    const sent = request(`${SERVICE_URL}/`, { dispatcher: d, headers: { 'x-tenant': key } });
    if (pick.endpoint.name === 'pod-dead') {
      refused++;
      await assert.rejects(sent, { code: 'ECONNREFUSED' });
    } else {
      assert.equal(await (await sent).body.text(), pick.endpoint.name);
    }
  }
  assert.ok(refused > 0, 'some keys belong to the refused pod');
  assert.equal(plane.board.totalInflight, 0);
  assert.equal(await (await request(`http://${backends[1]!.address}/`, { dispatcher: d })).body.text(), backends[1]!.name);
});
