/**
 * `shardgate serve --discovery`: the real binary finds its pods through a real DNS server
 * (dnsmasq) or the fake Kubernetes API server, and routes to them by pod name (and by pod label).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startDnsmasq } from '../helpers/dnsmasq.js';
import { FakeApiServer, pod } from '../helpers/fake-apiserver.js';
import { writeKubeconfig } from '../helpers/kubeconfig.js';
import { backend, get, Served } from './run.js';

const SVC = 'sharded-svc.default.svc.cluster.local';

test('cli: serve --discovery srv: finds StatefulSet pods by name through DNS and follows a new pod', async (t) => {
  const ports = await Promise.all([0, 1, 2].map(async (i) => Number((await backend(t, `sharded-svc-${i}`)).split(':')[1])));
  const entry = (i: number): { target: string; port: number } => ({ target: `sharded-svc-${i}.${SVC}`, port: ports[i]! });
  const host = (i: number): [string, string[]] => [`sharded-svc-${i}.${SVC}`, ['127.0.0.1']];
  const dns = await startDnsmasq(t, { hosts: Object.fromEntries([host(0), host(1)]), srv: { [`_http._tcp.${SVC}`]: [entry(0), entry(1)] } });
  const served = new Served(t, ['serve', '--listen', '127.0.0.1:0', '--workers', '1', '--discovery', `srv:_http._tcp.${SVC}`, '--dns-server', dns.server, '--balancer', 'round-robin']);
  const { port } = await served.address();
  const seen = new Set<string>();
  for (let i = 0; i < 4; i++) seen.add((await get(port)).endpoint ?? '');
  assert.deepEqual([...seen].sort(), ['sharded-svc-0', 'sharded-svc-1'], 'endpoints are named by pod, not by address');
  await dns.setRecords({ hosts: Object.fromEntries([host(0), host(1), host(2)]), srv: { [`_http._tcp.${SVC}`]: [entry(0), entry(1), entry(2)] } });
  await served.waitFor((l) => l.msg === 'endpoints' && l.count === 3, 'the third pod', 15_000);
  for (let i = 0; i < 6; i++) seen.add((await get(port)).endpoint ?? '');
  assert.ok(seen.has('sharded-svc-2'));
  assert.deepEqual(await served.stop('SIGTERM'), { code: 0, signal: null }, served.stderr);
});

for (const kind of ['dns', 'srv'] as const) {
  test(`cli: serve --discovery ${kind}: routes to the A records when the DNS server refuses AAAA queries`, async (t) => {
    const pod = await backend(t, 'sharded-svc-0');
    const port = Number(pod.split(':')[1]);
    // Outside cluster.local the test server refuses AAAA queries for names that have only A records (dnsmasq.ts).
    const svc = 'sharded-svc.example.test';
    const dns = await startDnsmasq(t, { hosts: { [svc]: ['127.0.0.1'], [`sharded-svc-0.${svc}`]: ['127.0.0.1'] }, srv: { [`_http._tcp.${svc}`]: [{ target: `sharded-svc-0.${svc}`, port }] } });
    const spec = kind === 'dns' ? `dns:${svc}:${port}` : `srv:_http._tcp.${svc}`;
    const served = new Served(t, ['serve', '--listen', '127.0.0.1:0', '--workers', '1', '--discovery', spec, '--dns-server', dns.server, '--balancer', 'round-robin']);
    const r = await get((await served.address()).port);
    assert.deepEqual([r.status, r.body], [200, 'sharded-svc-0']);
    assert.equal(r.endpoint, kind === 'dns' ? pod : 'sharded-svc-0');
    assert.deepEqual(served.lines.filter((l) => l.level === 40), [], 'a refused AAAA query is no problem to report');
    assert.deepEqual(await served.stop('SIGTERM'), { code: 0, signal: null }, served.stderr);
  });
}

for (const workers of [1, 2]) {
  test(`cli: serve --discovery srv:, --workers ${workers}: a DNS server down at start is waited for with retries, logged once, and routed through when it comes back`, async (t) => {
    const pod = await backend(t, 'sharded-svc-0');
    const records = { hosts: { [`sharded-svc-0.${SVC}`]: ['127.0.0.1'] }, srv: { [`_http._tcp.${SVC}`]: [{ target: `sharded-svc-0.${SVC}`, port: Number(pod.split(':')[1]) }] } };
    const dns = await startDnsmasq(t, records);
    await dns.stop();
    // No --admin: nothing but the wait for the first set may hold the process.
    const served = new Served(t, ['serve', '--listen', '127.0.0.1:0', '--workers', String(workers), '--discovery', `srv:_http._tcp.${SVC}`, '--dns-server', dns.server, '--balancer', 'round-robin']);
    const problem = await served.waitFor((l) => l.level === 40, 'the DNS failure');
    assert.match(String(problem.msg), /SRV lookup failed \((ECONNREFUSED|ETIMEOUT).*; no endpoints yet$/);
    // Past the first retry, 1 s after the failure: a process that nothing held would have ended.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    assert.equal(served.child.exitCode, null, `the process ended while it waited: ${served.stderr}`);
    await dns.start();
    const r = await get((await served.address()).port);
    assert.deepEqual([r.status, r.endpoint], [200, 'sharded-svc-0']);
    assert.equal(served.lines.filter((l) => l.level === 40).length, 1, 'one line for the outage, not one per retry');
    assert.deepEqual(await served.stop('SIGTERM'), { code: 0, signal: null }, served.stderr);
  });
}

test('cli: serve --discovery k8s: follows a Service\'s EndpointSlices from the API server named by the kubeconfig', async (t) => {
  const pods = await Promise.all([0, 1].map((i) => backend(t, `sharded-svc-${i}`)));
  const api = await FakeApiServer.start({ tls: true, token: 'secret-token' });
  t.after(() => api.close());
  const slice = (count: number): Parameters<FakeApiServer['apply']>[0] => ({
    metadata: { name: 'sharded-svc-abc', namespace: 'default', labels: { 'kubernetes.io/service-name': 'sharded-svc' } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: Number(pods[0]!.split(':')[1]), protocol: 'TCP' }],
    endpoints: pods.slice(0, count).map((_, i) => ({ addresses: ['127.0.0.1'], conditions: { ready: true }, targetRef: { kind: 'Pod', name: `sharded-svc-${i}`, namespace: 'default' } })),
  });
  api.apply(slice(1));
  const kubeconfig = await writeKubeconfig(t, api);
  const served = new Served(t, ['serve', '--listen', '127.0.0.1:0', '--workers', '1', '--discovery', 'k8s:default/sharded-svc:http', '--balancer', 'round-robin'], { KUBECONFIG: kubeconfig });
  const { port } = await served.address();
  const r = await get(port);
  assert.equal(r.status, 200);
  assert.equal(r.endpoint, 'sharded-svc-0');
  api.apply(slice(2));
  await served.waitFor((l) => l.msg === 'endpoints' && l.count === 2, 'the second pod', 15_000);
  assert.deepEqual(await served.stop('SIGTERM'), { code: 0, signal: null }, served.stderr);
});

test('cli: serve --discovery k8s: --pod-labels routes a subset by pod label, and follows a relabelled pod', async (t) => {
  const pods = await Promise.all([0, 1, 2].map((i) => backend(t, `sharded-svc-${i}`)));
  const api = await FakeApiServer.start({ tls: true, token: 'secret-token' });
  t.after(() => api.close());
  const app = { app: 'sharded-svc' };
  api.setService('default', 'sharded-svc', app);
  // One slice per pod: an EndpointSlice has one port list, and the pods listen on different ports.
  pods.forEach((address, i) => {
    api.apply({
      metadata: { name: `sharded-svc-${i}`, namespace: 'default', labels: { 'kubernetes.io/service-name': 'sharded-svc' } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: Number(address.split(':')[1]), protocol: 'TCP' }],
      endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: true }, targetRef: { kind: 'Pod', name: `sharded-svc-${i}`, namespace: 'default' } }],
    });
    api.applyPod(pod('default', `sharded-svc-${i}`, { ...app, version: i === 2 ? 'v2' : 'v1' }));
  });
  const kubeconfig = await writeKubeconfig(t, api);
  // fail: a v2 request without a v2 pod would get 503, never any pod; the first set has the labels.
  const served = new Served(t, ['serve', '--listen', '127.0.0.1:0', '--workers', '1', '--discovery', 'k8s:default/sharded-svc:http', '--pod-labels', 'version', '--subset', 'x-version=version', '--subset-fallback', 'fail', '--balancer', 'round-robin'], { KUBECONFIG: kubeconfig });
  const { port } = await served.address();
  const v2 = async (count: number): Promise<string[]> => {
    const seen: string[] = [];
    for (let i = 0; i < count; i++) seen.push((await get(port, { 'x-version': 'v2' })).endpoint ?? '');
    return seen.sort();
  };
  assert.deepEqual(await v2(6), Array(6).fill('sharded-svc-2'));
  api.applyPod(pod('default', 'sharded-svc-0', { ...app, version: 'v2' }));
  for (let tries = 0; !(await v2(2)).includes('sharded-svc-0'); tries++) {
    assert.ok(tries < 500, 'the relabelled pod never joined the v2 subset');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.deepEqual(await v2(6), ['sharded-svc-0', 'sharded-svc-0', 'sharded-svc-0', 'sharded-svc-2', 'sharded-svc-2', 'sharded-svc-2'], 'round robin over both v2 pods');
  assert.ok(api.requests.some((r) => r.path === '/api/v1/namespaces/default/pods' && r.query.get('labelSelector') === 'app=sharded-svc'));
  assert.deepEqual(await served.stop('SIGTERM'), { code: 0, signal: null }, served.stderr);
});
