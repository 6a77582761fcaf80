import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import { ApiStatusError } from '../../../src/discovery/k8s/api-status-error.js';
import { kubeconfigConnection } from '../../../src/discovery/k8s/cluster-connection.js';
import type { ClusterConnection } from '../../../src/discovery/k8s/cluster-connection.js';
import { readNodeZone } from '../../../src/discovery/k8s/node-zone.js';
import { ShardgateError } from '../../../src/errors.js';
import { FakeApiServer } from '../../helpers/fake-apiserver.js';
import { writeKubeconfig } from '../../helpers/kubeconfig.js';
import { until } from '../../helpers/until.js';

async function connect(t: TestContext, token = 'node-reader'): Promise<{ api: FakeApiServer; connection: ClusterConnection }> {
  const api = await FakeApiServer.start({ tls: true, token });
  t.after(() => api.close());
  return { api, connection: kubeconfigConnection(await writeKubeconfig(t, api)) };
}

test('node zone: the topology label, else the deprecated failure-domain label, else null; over TLS with the token', async (t) => {
  const { api, connection } = await connect(t);
  api.setNode('node-a', { [`topology.kubernetes.io/zone`]: 'eu-west-1a', [`failure-domain.beta.kubernetes.io/zone`]: 'stale' });
  api.setNode('node-old', { 'failure-domain.beta.kubernetes.io/zone': 'us-east-1c' });
  api.setNode('node-bare', { 'kubernetes.io/hostname': 'node-bare' });
  assert.equal(await readNodeZone(connection, 'node-a'), 'eu-west-1a');
  assert.equal(await readNodeZone(connection, 'node-old'), 'us-east-1c');
  assert.equal(await readNodeZone(connection, 'node-bare'), null);
  const gets = api.requests.filter((r) => r.path.startsWith('/api/v1/nodes/')).map((r) => r.path);
  assert.deepEqual(gets, ['/api/v1/nodes/node-a', '/api/v1/nodes/node-old', '/api/v1/nodes/node-bare']);
});

test('node zone: a 403 says to grant get on nodes through a ClusterRole or to pass --zone', async (t) => {
  const { api, connection } = await connect(t);
  api.setNode('node-a', { 'topology.kubernetes.io/zone': 'zone-a' });
  api.failNext(1, 403);
  await assert.rejects(readNodeZone(connection, 'node-a'), (e: unknown) => {
    assert.ok(e instanceof ShardgateError && e.code === 'SG_ERR_DISCOVERY', String(e));
    assert.match(e.message, /get on nodes/);
    assert.match(e.message, /ClusterRole/);
    assert.match(e.message, /--zone NAME/);
    assert.match(e.message, /cannot get resource "nodes"/, 'the server\'s own words are kept');
    return true;
  });
});

test('node zone: a 404 names the node and points at NODE_NAME and the downward API', async (t) => {
  const { connection } = await connect(t);
  await assert.rejects(readNodeZone(connection, 'node-typo'), (e: unknown) => e instanceof ShardgateError && /"node-typo"/.test(e.message) && /NODE_NAME/.test(e.message) && /spec\.nodeName/.test(e.message));
});

test('node zone: other refusals come through as they are; an aborted read stops', async (t) => {
  const { api, connection } = await connect(t);
  api.setNode('node-a', { 'topology.kubernetes.io/zone': 'zone-a' });
  api.token = 'rotated';
  await assert.rejects(readNodeZone(connection, 'node-a'), (e: unknown) => e instanceof ApiStatusError && e.status === 401);
  api.token = 'node-reader';
  api.stall(true);
  const abort = new AbortController();
  const read = readNodeZone(connection, 'node-a', abort.signal);
  await until('the stalled read sent', () => api.requests.length >= 2);
  abort.abort(new Error('stopped'));
  await assert.rejects(read, /stopped/);
});
