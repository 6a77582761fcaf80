/**
 * The directory over real HTTP: its answers are the routing of a real proxy on the same
 * endpoints (for every hashing algorithm, with a key transform and a draining pod), through the
 * proxy's own plane and through a lookup plane of its own; asking picks nothing; batches, errors,
 * 503 before a set, keyless balancers, and plans whose moved fractions are what really moves.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { request } from 'undici';
import type { EndpointSpec } from '../../src/balancer/endpoint.js';
import { createEndpointSet } from '../../src/balancer/endpoint.js';
import { parseConfig } from '../../src/config/config.js';
import { createDataPlane } from '../../src/dataplane/create-data-plane.js';
import { createLookupPlane } from '../../src/directory/lookup-plane.js';
import type { OwnerAnswer } from '../../src/directory/owner-answer.js';
import type { Plan } from '../../src/directory/plan.js';
import { createProxy } from '../../src/proxy/create-proxy.js';
import type { Backend } from '../helpers/backends.js';
import { closeBackends, startBackends } from '../helpers/backends.js';
import { serveDirectory } from '../helpers/directory-server.js';

const silent = pino({ level: 'silent' });

async function call(url: string, init: { method?: 'GET' | 'POST' | 'PUT'; body?: string } = {}): Promise<{ status: number; body: Record<string, unknown>; headers: Record<string, unknown> }> {
  const r = await request(url, { method: init.method ?? 'GET', ...(init.body === undefined ? {} : { body: init.body, headers: { 'content-type': 'application/json' } }) });
  const text = await r.body.text();
  return { status: r.statusCode, body: JSON.parse(text) as Record<string, unknown>, headers: r.headers };
}

async function owners(base: string, keys: readonly string[]): Promise<OwnerAnswer[]> {
  const r = await call(`${base}/v1/owners`, { method: 'POST', body: JSON.stringify(keys) });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.owners as OwnerAnswer[];
}

const specsOf = (backends: readonly Backend[], draining: string | null): EndpointSpec[] => backends.map((b) => ({ name: b.name, address: b.address, ...(b.name === draining ? { draining: true } : {}) }));

test('directory: every answer is the pod a real proxy on the same endpoints routes the key to, for every hashing algorithm, with a key transform and a draining pod; asking picks nothing', async (t) => {
  const backends = await startBackends(5, 'sharded-svc');
  t.after(() => closeBackends(backends));
  const specs = specsOf(backends, 'sharded-svc-3');
  // Tenant and user: the transform keeps the tenant, so every user of a tenant has one owner.
  const keys = Array.from({ length: 150 }, (_, i) => `t${i}-u${(i * 7919) % 1000}`);
  const balancers: Record<string, unknown>[] = [
    { algorithm: 'ring-hash' },
    { algorithm: 'maglev' },
    { algorithm: 'rendezvous' },
    { algorithm: 'jump' },
    { algorithm: 'ordinal', replicas: 5, onMissing: 'next' },
    { algorithm: 'ordinal', replicas: 5 },
    { algorithm: 'lookup', entries: [{ prefix: 't1', endpoint: 'sharded-svc-3' }, { key: 't2', endpoint: 'sharded-svc-1' }], default: 'rendezvous', onMissing: 'next' },
  ];
  for (const balancer of balancers) {
    const what = JSON.stringify(balancer);
    const config = parseConfig({ endpoints: specs, balancer, key: 'header:x-account', keyTransform: 'delimited:-:0', proxy: { outlier: false } });
    const plane = createDataPlane(config, { logger: silent });
    const proxy = await createProxy(config, plane, silent);
    plane.apply(createEndpointSet(specs, 1));
    const { port } = await proxy.listen(0, '127.0.0.1');
    const onProxy = await serveDirectory(t, plane, config);
    // A directory of its own, as `shardgate directory` runs it.
    const own = createLookupPlane(config, silent);
    own.apply(createEndpointSet(specs, 1));
    const standalone = await serveDirectory(t, own, config);
    try {
      const routed = await Promise.all(
        keys.map(async (key) => {
          const r = await request(`http://127.0.0.1:${port}/`, { headers: { 'x-account': key } });
          const body = await r.body.text();
          return { status: r.statusCode, pod: r.statusCode === 200 ? body : null, reason: r.statusCode === 200 ? null : body };
        }),
      );
      const picks = plane.board.loads.map((l) => l.picks);
      const fromProxy = await owners(onProxy.base, keys);
      const fromOwn = await owners(standalone.base, keys);
      assert.deepEqual(plane.board.loads.map((l) => l.picks), picks, `${what}: lookups picked nothing`);
      assert.equal(plane.board.totalInflight, 0);
      let homed = 0;
      keys.forEach((key, i) => {
        const r = routed[i]!;
        for (const a of [fromProxy[i]!, fromOwn[i]!]) {
          assert.equal(a.key, key);
          assert.equal(a.endpoint, r.pod, `${what} ${key}: the proxy sent it to ${r.pod ?? r.reason ?? ''}`);
          if (r.pod === null) assert.ok(r.reason!.includes(a.reason!), `${what} ${key}: ${r.reason ?? ''} names ${a.reason ?? ''}`);
          else assert.equal(a.preference[0], r.pod);
          assert.ok(!a.preference.includes('sharded-svc-3'), 'a draining pod is no one\'s next owner');
        }
        if (r.pod !== null) homed++;
      });
      assert.ok(homed > keys.length / 2, `${what}: most keys have a home`);
    } finally {
      await proxy.close();
      await plane.close();
      await own.close();
    }
  }
});

test('directory: the answer names address, ordinal, zone, preference and the generation; keys are read as a query key source reads them', async (t) => {
  const config = parseConfig({ endpoints: [0, 1, 2].map((i) => ({ name: `sharded-svc-${i}`, address: `10.0.0.${i}:8080`, zone: `zone-${i}` })), balancer: { algorithm: 'ring-hash' }, key: 'header:x-account' });
  const plane = createLookupPlane(config, silent);
  plane.apply(createEndpointSet(config.endpoints.kind === 'inline' ? config.endpoints.specs : [], 7));
  const { base } = await serveDirectory(t, plane, config);
  const one = await call(`${base}/v1/owner?key=acct-42&n=3`);
  assert.equal(one.status, 200);
  const a = one.body as unknown as OwnerAnswer;
  const ordinal = Number(a.endpoint!.slice(-1));
  assert.deepEqual({ ...a, membership: '' }, { key: 'acct-42', endpoint: `sharded-svc-${ordinal}`, address: `10.0.0.${ordinal}:8080`, ordinal, zone: `zone-${ordinal}`, preference: a.preference, reason: null, generation: 1, version: 7, membership: '' });
  assert.equal(a.preference.length, 3);
  assert.equal(new Set(a.preference).size, 3);
  assert.match(a.membership, /^[0-9a-f]{16}$/);
  assert.equal(one.headers['cache-control'], 'no-store');
  // Form decoding, as the proxy's query: source: + is a space, %2B a plus, a bad escape stays.
  const many = await call(`${base}/v1/owners?key=a+b&key=c%2Bd&key=%zz&n=1`);
  assert.deepEqual((many.body.owners as OwnerAnswer[]).map((o) => [o.key, o.preference.length]), [['a b', 1], ['c+d', 1], ['%zz', 1]]);
});

test('directory: refusals carry a stable code: missing, empty and malformed keys, bad batches, parameters, methods, generations', async (t) => {
  const config = parseConfig({ endpoints: [{ name: 'pod-0', address: '10.0.0.1:80' }, { name: 'pod-1', address: '10.0.0.2:80' }], balancer: { algorithm: 'maglev' }, key: 'header:x-account', keyTransform: 'delimited:-:1' });
  const plane = createLookupPlane(config, silent);
  plane.apply(createEndpointSet([{ name: 'pod-0', address: '10.0.0.1:80' }, { name: 'pod-1', address: '10.0.0.2:80' }], 1));
  const { base } = await serveDirectory(t, plane, config);
  const refused = async (url: string, status: number, code: string, init: Parameters<typeof call>[1] = {}): Promise<string> => {
    const r = await call(url, init);
    assert.equal(r.status, status, `${url}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.code, code, url);
    assert.deepEqual(Object.keys(r.body), ['error', 'code']);
    return r.body.error as string;
  };
  assert.match(await refused(`${base}/v1/owner`, 400, 'SG_ERR_KEY_MISSING'), /key is missing.*header:x-account/);
  assert.match(await refused(`${base}/v1/owner?key=`, 400, 'SG_ERR_KEY_MISSING'), /empty/);
  assert.match(await refused(`${base}/v1/owner?key=acct`, 400, 'SG_ERR_KEY_MALFORMED'), /keyTransform delimited:-:1.*without a key/);
  assert.equal((await call(`${base}/v1/owner?key=tenant-acct`)).status, 200);
  await refused(`${base}/v1/owners`, 400, 'SG_ERR_KEY_MISSING');
  await refused(`${base}/v1/owners?key=a-1&key=`, 400, 'SG_ERR_KEY_MISSING');
  await refused(`${base}/v1/owners`, 400, 'SG_ERR_BATCH', { method: 'POST', body: '{"keys":["a"]}' });
  await refused(`${base}/v1/owners`, 400, 'SG_ERR_BATCH', { method: 'POST', body: '["a",' });
  assert.match(await refused(`${base}/v1/owners`, 400, 'SG_ERR_KEY_MALFORMED', { method: 'POST', body: '["a-1", 7]' }), /^\[1\] is 7/);
  assert.match(await refused(`${base}/v1/owners`, 400, 'SG_ERR_BATCH', { method: 'POST', body: JSON.stringify(Array.from({ length: 1_001 }, (_, i) => `k-${i}`)) }), /1001 keys.*1000/);
  await refused(`${base}/v1/owners`, 400, 'SG_ERR_BATCH', { method: 'POST', body: JSON.stringify(['x'.repeat(1_100_000)]) });
  assert.equal((await call(`${base}/v1/owners`, { method: 'POST', body: JSON.stringify(Array.from({ length: 1_000 }, (_, i) => `k-${i}`)) })).status, 200);
  await refused(`${base}/v1/owner?key=a-1&n=0`, 400, 'SG_ERR_PARAMETER');
  await refused(`${base}/v1/owner?key=a-1&generation=x`, 400, 'SG_ERR_PARAMETER');
  assert.match(await refused(`${base}/v1/owner?key=a-1&generation=9`, 410, 'SG_ERR_GENERATION_GONE'), /generation 9 is not kept: ask about one of 1/);
  const put = await call(`${base}/v1/owner?key=a-1`, { method: 'PUT' });
  assert.deepEqual([put.status, put.headers.allow], [405, 'GET']);
  assert.equal((await call(`${base}/v1/owners`, { method: 'PUT' })).headers.allow, 'GET, POST');
  const missing = await call(`${base}/v1/nothing`);
  assert.equal(missing.status, 404);
  assert.match(missing.body.error as string, /\/v1\/owner, .*\/v1\/assignments\/watch/);
  assert.match(await refused(`${base}/v1/plan`, 400, 'SG_ERR_PLAN'), /no change to plan: give add=NAME/);
  assert.match(await refused(`${base}/v1/plan?remove=pod-9`, 400, 'SG_ERR_PLAN'), /remove=pod-9: no endpoint has that name; the endpoints are pod-0, pod-1/);
  assert.match(await refused(`${base}/v1/plan?add=pod-1`, 400, 'SG_ERR_PLAN'), /already/);
  await refused(`${base}/v1/plan?add=x&weight=0`, 400, 'SG_ERR_PLAN');
});

test('directory: 503 before any set and for an empty one, the owner with 503 when a key has none, 409 for a keyless balancer', async (t) => {
  const config = parseConfig({ endpoints: [{ name: 'svc-0', address: '10.0.0.1:80' }], balancer: { algorithm: 'ordinal', replicas: 2 }, key: 'header:x' });
  const plane = createLookupPlane(config, silent);
  const { base } = await serveDirectory(t, plane, config);
  for (const path of ['/v1/owner?key=1', '/v1/owners?key=1', '/v1/plan?add=svc-1', '/v1/assignments']) {
    const r = await call(base + path);
    assert.deepEqual([r.status, r.body.code], [503, 'SG_ERR_NO_ENDPOINT'], path);
    assert.match(r.body.error as string, /no endpoint set yet/);
  }
  plane.apply(createEndpointSet([], 1));
  assert.match((await call(`${base}/v1/owner?key=1`)).body.error as string, /set \(version 1\) is empty/);
  assert.equal((await call(`${base}/v1/plan?add=svc-0`)).status, 200, 'the first pods can be planned');
  plane.apply(createEndpointSet([{ name: 'svc-0', address: '10.0.0.1:80' }], 2));
  assert.equal((await call(`${base}/v1/owner?key=2`)).body.endpoint, 'svc-0');
  // Ordinal 1 is missing and the policy is to fail: the proxy would answer 503 owner-missing.
  const none = await call(`${base}/v1/owner?key=3`);
  assert.equal(none.status, 503);
  assert.deepEqual([none.body.endpoint, none.body.reason, none.body.code], [null, 'owner-missing', 'SG_ERR_NO_ENDPOINT']);
  assert.deepEqual(((await call(`${base}/v1/owners?key=2&key=3`)).body.owners as OwnerAnswer[]).map((o) => o.reason), [null, 'owner-missing']);

  const keyless = parseConfig({ endpoints: [{ name: 'svc-0', address: '10.0.0.1:80' }], balancer: { algorithm: 'round-robin' } });
  const kp = createLookupPlane(keyless, silent);
  kp.apply(createEndpointSet([{ name: 'svc-0', address: '10.0.0.1:80' }], 1));
  const k = await serveDirectory(t, kp, keyless);
  for (const path of ['/v1/owner?key=1', '/v1/plan?add=x', '/v1/assignments', '/v1/assignments/watch']) {
    const r = await call(k.base + path);
    assert.deepEqual([r.status, r.body.code], [409, 'SG_ERR_KEYLESS_BALANCER'], path);
    assert.match(r.body.error as string, /round-robin, which routes no key.*--balancer ring-hash/);
  }
});

test('directory: a plan\'s matrix accounts for every key, and the fractions it predicts are what a real proxy then moves', async (t) => {
  const backends = await startBackends(5, 'sharded-svc');
  t.after(() => closeBackends(backends));
  const keys = Array.from({ length: 1_000 }, (_, i) => `acct-${i}`);
  const cases: { balancer: Record<string, unknown>; plan: string; next: (specs: EndpointSpec[]) => EndpointSpec[] }[] = [
    { balancer: { algorithm: 'ring-hash' }, plan: 'remove=sharded-svc-2', next: (s) => s.filter((e) => e.name !== 'sharded-svc-2') },
    { balancer: { algorithm: 'maglev' }, plan: 'drain=sharded-svc-0&remove=sharded-svc-4', next: (s) => s.filter((e) => e.name !== 'sharded-svc-4').map((e) => (e.name === 'sharded-svc-0' ? { ...e, draining: true } : e)) },
    { balancer: { algorithm: 'ordinal', onMissing: 'next' }, plan: 'replicas=4', next: (s) => s.filter((e) => e.name !== 'sharded-svc-4') },
  ];
  for (const c of cases) {
    const specs = specsOf(backends, null);
    const config = parseConfig({ endpoints: specs, balancer: c.balancer, key: 'header:x-account', proxy: { outlier: false } });
    const plane = createDataPlane(config, { logger: silent });
    const proxy = await createProxy(config, plane, silent);
    plane.apply(createEndpointSet(specs, 1));
    const { port } = await proxy.listen(0, '127.0.0.1');
    const { base } = await serveDirectory(t, plane, config);
    try {
      const r = await call(`${base}/v1/plan?${c.plan}`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const plan = r.body as unknown as Plan;
      const matrix = plan.matrix!;
      const owners = plan.owners!;
      let sum = 0;
      for (const row of matrix) for (const cell of row) sum += cell;
      assert.ok(Math.abs(sum - 1) < 1e-4, `${c.plan}: the cells sum to ${sum}`);
      const route = async (): Promise<string[]> =>
        Promise.all(
          keys.map(async (key) => {
            const res = await request(`http://127.0.0.1:${port}/`, { headers: { 'x-account': key } });
            return res.body.text();
          }),
        );
      const before = await route();
      plane.apply(createEndpointSet(c.next(specs), 2));
      const after = await route();
      const moved = new Map<string, number>();
      let total = 0;
      keys.forEach((_, i) => {
        if (before[i] === after[i]) return;
        total++;
        moved.set(`${before[i]}>${after[i]}`, (moved.get(`${before[i]}>${after[i]}`) ?? 0) + 1);
      });
      const bound = (p: number): number => 4.5 * Math.sqrt((Math.max(p, 0.01) * (1 - p)) / keys.length) + 4.5 * Math.sqrt((Math.max(p, 0.01) * (1 - p)) / (plan.samples ?? Infinity));
      assert.ok(Math.abs(total / keys.length - plan.moved) <= bound(plan.moved), `${c.plan}: ${total / keys.length} of the keys moved, the plan said ${plan.moved}`);
      owners.forEach((from, i) =>
        owners.forEach((to, j) => {
          if (i === j) return;
          const real = (moved.get(`${from}>${to}`) ?? 0) / keys.length;
          assert.ok(Math.abs(real - matrix[i]![j]!) <= bound(matrix[i]![j]!), `${c.plan} ${from} -> ${to}: ${real} moved, the plan said ${matrix[i]![j]!}`);
          const move = plan.moves.find((m) => m.from === from && m.to === to);
          assert.equal(move?.fraction ?? 0, matrix[i]![j]!, 'moves are the cells off the diagonal');
        }),
      );
      for (const e of plan.examples) {
        const i = keys.indexOf(e.key);
        if (i >= 0) assert.deepEqual([before[i], after[i]], [e.from, e.to], `example ${e.key}`);
      }
    } finally {
      await proxy.close();
      await plane.close();
    }
  }
});
