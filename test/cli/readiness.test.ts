/**
 * `shardgate serve --admin`: the probes of the real binary, as a kubelet sees them, while the API
 * server or DNS is away at startup, goes away later, and while the proxy shuts down; and the wait
 * for the first endpoint set without the admin listener to hold the process.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import { request } from 'undici';
import type { ReadinessReport } from '../../src/admin/readiness.js';
import { startDnsmasq } from '../helpers/dnsmasq.js';
import { FakeApiServer } from '../helpers/fake-apiserver.js';
import { writeKubeconfig } from '../helpers/kubeconfig.js';
import { backend, get, Served } from './run.js';

interface Probe {
  readonly status: number;
  readonly report: ReadinessReport;
}

async function probe(admin: number, path = '/readyz'): Promise<Probe> {
  const r = await request(`http://127.0.0.1:${admin}${path}`);
  return { status: r.statusCode, report: (await r.body.json()) as ReadinessReport };
}

/** Polls the probe (bounded) until `until` holds; returns that answer. */
async function probeUntil(admin: number, until: (p: Probe) => boolean, what: string, path = '/readyz', timeoutMs = 15_000): Promise<Probe> {
  const deadline = Date.now() + timeoutMs;
  let last: Probe | null = null;
  while (Date.now() < deadline) {
    last = await probe(admin, path);
    if (until(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`readiness never showed ${what} within ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
}

async function adminPort(served: Served): Promise<number> {
  const line = await served.waitFor((l) => l.msg === 'admin listening', '"admin listening"');
  return Number(/:(\d+)$/.exec(String(line.address))![1]);
}

async function cluster(t: TestContext): Promise<{ api: FakeApiServer; kubeconfig: string }> {
  const pod = await backend(t, 'sharded-svc-0');
  const api = await FakeApiServer.start({ tls: true, token: 'secret-token' });
  t.after(() => api.close());
  api.apply({
    metadata: { name: 'sharded-svc-abc', namespace: 'default', labels: { 'kubernetes.io/service-name': 'sharded-svc' } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: Number(pod.split(':')[1]), protocol: 'TCP' }],
    endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: true }, targetRef: { kind: 'Pod', name: 'sharded-svc-0', namespace: 'default' } }],
  });
  return { api, kubeconfig: await writeKubeconfig(t, api) };
}

for (const workers of [1, 2]) {
  test(`cli: --admin readiness with --workers ${workers}: unready while the API server is away at startup, ready and stale (not unready) through a later outage`, async (t) => {
    const { api, kubeconfig } = await cluster(t);
    await api.goDown();
    const served = new Served(t, ['serve', '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--workers', String(workers), '--discovery', 'k8s:default/sharded-svc:http', '--balancer', 'round-robin'], { KUBECONFIG: kubeconfig });
    const admin = await adminPort(served);
    assert.equal((await probe(admin, '/healthz')).status, 200, 'alive while discovery waits');
    const starting = await probeUntil(admin, (p) => p.report.discovery.error !== null, 'the startup failure');
    assert.equal(starting.status, 503);
    assert.equal(starting.report.discovery.state, 'waiting');

    await api.comeBack();
    const { port } = await served.address();
    const ready = await probeUntil(admin, (p) => p.status === 200, 'ready');
    assert.deepEqual(ready.report.discovery, { source: 'k8s:default/sharded-svc:http', state: 'synced', error: null });
    assert.deepEqual(ready.report.endpoints, { version: 1, total: 1, draining: 0 });

    await api.goDown();
    const stale = await probeUntil(admin, (p) => p.report.discovery.state === 'stale', 'stale');
    assert.equal(stale.status, 200, 'static stability: the proxy stays in its Service');
    assert.equal((await get(port)).endpoint, 'sharded-svc-0', 'and routes with the last set');
    const strict = await probe(admin, '/readyz?strict');
    assert.equal(strict.status, 503);
    assert.match(strict.report.reason ?? '', /^discovery is stale/);

    await api.comeBack();
    await probeUntil(admin, (p) => p.report.discovery.state === 'synced', 'synced again', '/readyz?strict');
    assert.deepEqual(await served.stop('SIGTERM'), { code: 0, signal: null }, served.stderr);
  });
}

test('cli: without --admin, a start with the API server away waits for it (nothing else holds the process), then routes', async (t) => {
  const { api, kubeconfig } = await cluster(t);
  await api.goDown();
  const served = new Served(t, ['serve', '--listen', '127.0.0.1:0', '--workers', '1', '--discovery', 'k8s:default/sharded-svc:http', '--balancer', 'round-robin'], { KUBECONFIG: kubeconfig });
  await served.waitFor((l) => l.level === 40 && /ECONNREFUSED.*no endpoints yet$/.test(String(l.msg)), 'the API server failure');
  // Past the first backoff (at most 0.5 s): a process that nothing held would have ended.
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  assert.equal(served.child.exitCode, null, `the process ended while it waited: ${served.stderr}`);
  await api.comeBack();
  assert.equal((await get((await served.address()).port)).endpoint, 'sharded-svc-0');
  assert.deepEqual(await served.stop('SIGTERM'), { code: 0, signal: null }, served.stderr);
});

test('cli: --admin readiness turns 503 as soon as SIGTERM arrives, while in-flight requests finish', async (t) => {
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  const slow = http.createServer((req, res) => {
    req.resume();
    void held.then(() => res.end('slow-0'));
  });
  await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => {
    release();
    slow.closeAllConnections();
    slow.close(() => resolve());
  }));
  const served = new Served(t, ['serve', '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--workers', '1', '--endpoints', `slow-0=127.0.0.1:${(slow.address() as AddressInfo).port}`, '--balancer', 'round-robin']);
  const admin = await adminPort(served);
  const { port } = await served.address();
  assert.equal((await probeUntil(admin, (p) => p.status === 200, 'ready')).report.discovery.state, 'synced');
  const inFlight = get(port);
  await new Promise((resolve) => setTimeout(resolve, 200));
  served.child.kill('SIGTERM');
  const down = await probeUntil(admin, (p) => p.status === 503, 'unready on SIGTERM');
  assert.equal(down.report.reason, 'shutting down');
  release();
  const r = await inFlight;
  assert.deepEqual([r.status, r.body], [200, 'slow-0'], 'the request in flight at SIGTERM finished');
  assert.deepEqual(await served.exited, { code: 0, signal: null }, served.stderr);
});

for (const [workers, signal] of [[1, 'SIGTERM'], [1, 'SIGINT'], [2, 'SIGTERM'], [2, 'SIGINT']] as const) {
  test(`cli: --admin readiness with --workers ${workers}: unready while DNS is down at start, and ${signal} then shuts down cleanly; exit 0`, async (t) => {
    const dns = await startDnsmasq(t, {});
    await dns.stop();
    const served = new Served(t, ['serve', '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--workers', String(workers), '--discovery', 'srv:_http._tcp.sharded-svc.default.svc.cluster.local', '--dns-server', dns.server]);
    const admin = await adminPort(served);
    const waiting = await probeUntil(admin, (p) => p.report.discovery.error !== null, 'the DNS failure');
    assert.equal(waiting.status, 503);
    assert.equal(waiting.report.discovery.state, 'waiting');
    assert.match(waiting.report.discovery.error ?? '', /SRV lookup failed/);
    assert.deepEqual(await served.stop(signal), { code: 0, signal: null }, served.stderr);
    assert.ok(served.lines.some((l) => l.msg === 'stopped'), 'the shutdown ran to its end');
    assert.ok(!served.lines.some((l) => l.msg === 'listening'));
  });
}
