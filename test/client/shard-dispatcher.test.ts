/**
 * The dispatcher end to end, through every way a Node program sends HTTP: Node 20's global fetch
 * (the undici bundled with Node, not node_modules') with the `dispatcher` option and after
 * `setGlobalDispatcher`, undici's own fetch, and undici.request. Keyed requests reach the owner
 * the service's data plane names, with the Host the caller addressed; keyless ones spread; other
 * origins pass through untouched. Real HTTP/1.1 pods on loopback.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import { fetch as undiciFetch, getGlobalDispatcher, request, setGlobalDispatcher } from 'undici';
import type { Dispatcher } from 'undici';
import { closeBackends, endpointSpecs, startBackends } from '../helpers/backends.js';
import type { Backend } from '../helpers/backends.js';
import { assertNothingInFlight, openDispatcher, ownerOf, SERVICE, SERVICE_URL } from '../helpers/shard-client.js';

const KEYS = Array.from({ length: 40 }, (_, i) => `tenant-${i}`);

async function pods(t: TestContext, count = 4): Promise<Backend[]> {
  const b = await startBackends(count);
  t.after(() => closeBackends(b));
  return b;
}

type Send = (url: string, key: string | null) => Promise<{ status: number; pod: string }>;

const headersOf = (key: string | null): Record<string, string> => (key === null ? {} : { 'X-Tenant': key });

function entryPoints(d: Dispatcher): Record<string, Send> {
  return {
    'global fetch, dispatcher option': async (url, key) => {
      // Node's own types name its bundled undici's Dispatcher, a type apart from the installed one.
      const r = await fetch(url, { dispatcher: d, headers: headersOf(key) } as unknown as RequestInit);
      return { status: r.status, pod: await r.text() };
    },
    'global fetch, setGlobalDispatcher': async (url, key) => {
      const before = getGlobalDispatcher();
      setGlobalDispatcher(d);
      try {
        const r = await fetch(url, { headers: headersOf(key) });
        return { status: r.status, pod: await r.text() };
      } finally {
        setGlobalDispatcher(before);
      }
    },
    'undici.fetch': async (url, key) => {
      const r = await undiciFetch(url, { dispatcher: d, headers: headersOf(key) });
      return { status: r.status, pod: await r.text() };
    },
    'undici.request': async (url, key) => {
      const r = await request(url, { dispatcher: d, headers: key === null ? {} : { 'x-tenant': key } });
      return { status: r.statusCode, pod: await r.body.text() };
    },
  };
}

test('every entry point: a keyed request reaches the owner the plane names, with the Host the caller addressed', async (t) => {
  const backends = await pods(t);
  const d = await openDispatcher(t, { [SERVICE]: { endpoints: endpointSpecs(backends), balancer: { algorithm: 'ring-hash' }, key: 'header:x-tenant' } });
  const owners = new Set<string>();
  for (const [name, send] of Object.entries(entryPoints(d))) {
    for (const key of KEYS) {
      const r = await send(`${SERVICE_URL}/accounts`, key);
      const owner = ownerOf(d, SERVICE, key);
      assert.equal(r.status, 200, name);
      assert.equal(r.pod, owner, `${name}: ${key} reached its owner`);
      owners.add(owner);
      const pod = backends.find((b) => b.name === owner)!;
      assert.equal(pod.lastHeaders?.host, SERVICE, `${name}: the pod saw the logical Host`);
    }
  }
  assert.ok(owners.size >= 3, `keys spread over the pods: ${[...owners].join(', ')}`);
  assertNothingInFlight(d, SERVICE);
});

test('keyless requests go to the keyless balancer and spread over the pods', async (t) => {
  const backends = await pods(t);
  const d = await openDispatcher(t, { [SERVICE]: { endpoints: endpointSpecs(backends), balancer: { algorithm: 'ring-hash', keyless: 'round-robin' }, key: 'header:x-tenant' } });
  const send = entryPoints(d)['undici.request']!;
  const seen = new Map<string, number>();
  for (let i = 0; i < 40; i++) {
    const r = await send(`${SERVICE_URL}/`, null);
    seen.set(r.pod, (seen.get(r.pod) ?? 0) + 1);
  }
  assert.deepEqual([...seen.keys()].sort(), backends.map((b) => b.name).sort(), 'round robin reached every pod');
  assert.ok([...seen.values()].every((n) => n === 10), `evenly: ${JSON.stringify([...seen])}`);
});

test('a key function reads the key from the request: the path here', async (t) => {
  const backends = await pods(t);
  const d = await openDispatcher(t, {
    [SERVICE]: { endpoints: endpointSpecs(backends), balancer: { algorithm: 'maglev' }, key: (opts) => opts.path.split('/')[2] ?? null },
  });
  for (const key of KEYS.slice(0, 20)) {
    const r = await entryPoints(d)['global fetch, dispatcher option']!(`${SERVICE_URL}/accounts/${key}/balance`, null);
    assert.equal(r.pod, ownerOf(d, SERVICE, key), key);
  }
});

test('requests to any other origin pass through untouched, header and all', async (t) => {
  const backends = await pods(t);
  const d = await openDispatcher(t, { [SERVICE]: { endpoints: endpointSpecs(backends.slice(0, 3)), balancer: { algorithm: 'ring-hash' }, key: 'header:x-tenant' } });
  const outside = backends[3]!;
  for (const [name, send] of Object.entries(entryPoints(d))) {
    const r = await send(`http://${outside.address}/other`, 'tenant-1');
    assert.deepEqual(r, { status: 200, pod: outside.name }, name);
    assert.equal(outside.lastHeaders?.host, outside.address);
  }
  assert.equal(outside.requests, 4);
  assert.equal(backends.slice(0, 3).reduce((n, b) => n + b.requests, 0), 0, 'no managed pod was asked');
});

test('an origin written with its default port or a trailing slash is the same service; other schemes are not', async (t) => {
  const backends = await pods(t, 2);
  const d = await openDispatcher(t, { 'sharded-svc.test': { endpoints: endpointSpecs(backends), balancer: { algorithm: 'rendezvous' }, key: 'header:x-tenant' } });
  for (const origin of ['http://sharded-svc.test', 'http://sharded-svc.test:80', 'http://sharded-svc.test/', new URL('http://sharded-svc.test')]) {
    const r = await d.request({ origin, path: '/', method: 'GET', headers: { 'x-tenant': 'tenant-3' } });
    assert.equal(await r.body.text(), ownerOf(d, 'sharded-svc.test', 'tenant-3'), String(origin));
  }
  await assert.rejects(d.request({ origin: 'https://sharded-svc.test', path: '/', method: 'GET' }), /ENOTFOUND|EAI_AGAIN/, 'https is another origin: it passes through to DNS');
});

test('close() lets the request in flight finish, then closes the pools and the pass-through agent', async (t) => {
  const backends = await startBackends(2, 'pod', (req, res, b) => setTimeout(() => res.end(b.name), 150));
  t.after(() => closeBackends(backends));
  const d = await openDispatcher(t, { [SERVICE]: { endpoints: endpointSpecs(backends), balancer: { algorithm: 'ring-hash' }, key: 'header:x-tenant' } });
  const pending = request(`${SERVICE_URL}/`, { dispatcher: d, headers: { 'x-tenant': 'tenant-1' } });
  await new Promise((r) => setTimeout(r, 50));
  const closed = d.close();
  const r = await pending;
  assert.equal(await r.body.text(), ownerOf(d, SERVICE, 'tenant-1'));
  await closed;
  await assert.rejects(request(`${SERVICE_URL}/`, { dispatcher: d }), { code: 'UND_ERR_CLOSED' });
  await assert.rejects(request(`http://${backends[0]!.address}/`, { dispatcher: d }), { code: 'UND_ERR_CLOSED' });
  assertNothingInFlight(d, SERVICE);
});

test('compose(): an interceptor over the dispatcher sees every request, managed or not', async (t) => {
  const backends = await pods(t, 2);
  const d = await openDispatcher(t, { [SERVICE]: { endpoints: endpointSpecs(backends), balancer: { algorithm: 'jump' }, key: 'header:x-tenant' } });
  const origins: string[] = [];
  const seen = d.compose((dispatch) => (opts, handler) => {
    origins.push(String(opts.origin));
    return dispatch(opts, handler);
  });
  await (await request(`${SERVICE_URL}/`, { dispatcher: seen, headers: { 'x-tenant': 'a' } })).body.text();
  await (await request(`http://${backends[0]!.address}/`, { dispatcher: seen })).body.text();
  assert.deepEqual(origins, [SERVICE_URL, `http://${backends[0]!.address}`]);
});

test('destroy() during a graceful close() cuts the request still in flight at once', async (t) => {
  const backends = await startBackends(1, 'pod', () => undefined);
  t.after(() => closeBackends(backends));
  const d = await openDispatcher(t, { [SERVICE]: { endpoints: endpointSpecs(backends), balancer: { algorithm: 'ring-hash' }, key: 'header:x-tenant' } });
  const hanging = request(`${SERVICE_URL}/`, { dispatcher: d, headers: { 'x-tenant': 'a' } });
  await new Promise((r) => setTimeout(r, 50));
  const started = Date.now();
  const closed = d.close();
  await new Promise((r) => setTimeout(r, 50));
  await d.destroy();
  await assert.rejects(hanging);
  await closed;
  assert.ok(Date.now() - started < 2_000, 'not the grace period of the graceful close');
  assertNothingInFlight(d, SERVICE);
});
