/**
 * `shardgate serve --zone auto`: the real binary reads its node's zone from the API server (the
 * fake, over TLS with a token) and keyless requests stay in that zone.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import { FakeApiServer } from '../helpers/fake-apiserver.js';
import { writeKubeconfig } from '../helpers/kubeconfig.js';
import { backend, get, runToEnd, Served } from './run.js';

async function zonedCluster(t: TestContext): Promise<{ api: FakeApiServer; kubeconfig: string }> {
  const pods = await Promise.all(['sharded-svc-0', 'sharded-svc-1'].map((name) => backend(t, name)));
  const api = await FakeApiServer.start({ tls: true, token: 'secret-token' });
  t.after(() => api.close());
  // One slice per pod: an EndpointSlice has one port list, and the pods listen on different ports.
  pods.forEach((pod, i) => {
    api.apply({
      metadata: { name: `sharded-svc-${i}`, namespace: 'default', labels: { 'kubernetes.io/service-name': 'sharded-svc' } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: Number(pod.split(':')[1]), protocol: 'TCP' }],
      endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: true }, zone: i === 0 ? 'zone-a' : 'zone-b', nodeName: `node-${i}`, targetRef: { kind: 'Pod', name: `sharded-svc-${i}`, namespace: 'default' } }],
    });
  });
  api.setNode('node-a', { 'topology.kubernetes.io/zone': 'zone-b' });
  api.setNode('node-bare', { 'kubernetes.io/hostname': 'node-bare' });
  return { api, kubeconfig: await writeKubeconfig(t, api) };
}

const ARGS = ['serve', '--listen', '127.0.0.1:0', '--workers', '1', '--discovery', 'k8s:default/sharded-svc:http', '--balancer', 'round-robin', '--zone', 'auto'];

test('cli: --zone auto reads the node\'s zone label, and keyless requests stay in that zone', async (t) => {
  const { api, kubeconfig } = await zonedCluster(t);
  const served = new Served(t, ARGS, { KUBECONFIG: kubeconfig, NODE_NAME: 'node-a' });
  const { port } = await served.address();
  assert.equal((await served.waitFor((l) => l.msg === 'zone', '"zone"')).zone, 'zone-b');
  const seen = new Map<string, number>();
  for (let i = 0; i < 10; i++) {
    const r = await get(port);
    seen.set(r.endpoint ?? '', (seen.get(r.endpoint ?? '') ?? 0) + 1);
  }
  assert.deepEqual([...seen], [['sharded-svc-1', 10]], 'round robin over both pods, but only the own zone\'s is used');
  assert.ok(api.requests.some((r) => r.path === '/api/v1/nodes/node-a'));
  assert.deepEqual(await served.stop('SIGTERM'), { code: 0, signal: null }, served.stderr);
});

test('cli: --zone auto on a node without a zone label warns and prefers no zone', async (t) => {
  const { kubeconfig } = await zonedCluster(t);
  const served = new Served(t, ARGS, { KUBECONFIG: kubeconfig, NODE_NAME: 'node-bare' });
  const { port } = await served.address();
  assert.match(String((await served.waitFor((l) => /no topology\.kubernetes\.io\/zone label/.test(l.msg ?? ''), 'the warning')).msg), /node-bare/);
  const seen = new Set<string>();
  for (let i = 0; i < 4; i++) seen.add((await get(port)).endpoint ?? '');
  assert.deepEqual([...seen].sort(), ['sharded-svc-0', 'sharded-svc-1']);
  assert.deepEqual(await served.stop('SIGTERM'), { code: 0, signal: null }, served.stderr);
});

test('cli: --zone auto without NODE_NAME, or on a node that does not exist, fails the start saying what to set', async (t) => {
  const { kubeconfig } = await zonedCluster(t);
  const env: NodeJS.ProcessEnv = { ...process.env, KUBECONFIG: kubeconfig };
  delete env['NODE_NAME'];
  const noName = await runToEnd(ARGS, 15_000, env);
  assert.equal(noName.code, 2, noName.stderr);
  assert.match(noName.stderr, /zone.*NODE_NAME is not set.*spec\.nodeName/);
  const missing = await runToEnd(ARGS, 15_000, { ...env, NODE_NAME: 'node-gone' });
  assert.equal(missing.code, 1, missing.stderr);
  assert.match(missing.stderr, /no node named "node-gone".*NODE_NAME/);
});
