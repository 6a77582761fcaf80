/**
 * Attempts, outcomes and retries of requests to a managed service: a refused pod's keys are served
 * by their next owner; a 503 for an idempotent request is retried there, one for a POST is not,
 * and neither is anything when retries are off; an aborted request is not retried; a request no
 * endpoint can take fails with the proxy's code; and every attempt's pick is ended exactly once,
 * which a request held open at a pod shows: its count stays at one while others come and go.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import { request } from 'undici';
import type { Dispatcher } from 'undici';
import { ShardRoutingError } from '../../src/client/routing-error.js';
import { closeBackends, closedPort, endpointSpecs, nameHandler, startBackends } from '../helpers/backends.js';
import type { Backend, BackendHandler } from '../helpers/backends.js';
import { assertNothingInFlight, endpointNamed, openDispatcher, ownerOf, SERVICE, SERVICE_URL } from '../helpers/shard-client.js';
import { until } from '../helpers/until.js';

const KEYS = Array.from({ length: 200 }, (_, i) => `tenant-${i}`);

/** Answers 503 while `failing` holds its name; otherwise its name. */
function failingWhile(failing: Set<string>): BackendHandler {
  return (req, res, b) => {
    if (!failing.has(b.name)) return nameHandler(req, res, b);
    req.resume();
    res.writeHead(503).end('unavailable');
  };
}

async function pods(t: TestContext, handler?: BackendHandler): Promise<Backend[]> {
  const b = await startBackends(3, 'pod', handler);
  t.after(() => closeBackends(b));
  return b;
}

async function send(method: string, key: string, d: Dispatcher, body?: string): Promise<{ status: number; text: string }> {
  const r = await request(`${SERVICE_URL}/orders`, { method: method as 'GET', dispatcher: d, headers: { 'x-tenant': key }, ...(body === undefined ? {} : { body }) });
  return { status: r.statusCode, text: await r.body.text() };
}

test('a refused pod: its keys are served by their next owner, other keys stay where they are', async (t) => {
  const backends = await pods(t);
  const dead = { name: 'pod-dead', address: `127.0.0.1:${await closedPort()}` };
  const d = await openDispatcher(t, { [SERVICE]: { endpoints: [...endpointSpecs(backends), dead], balancer: { algorithm: 'ring-hash' }, key: 'header:x-tenant', proxy: { outlier: false } } });
  const deadEndpoint = endpointNamed(d, SERVICE, 'pod-dead');
  let moved = 0;
  for (const key of KEYS.slice(0, 60)) {
    const owner = ownerOf(d, SERVICE, key);
    const r = await send('POST', key, d, '{"amount":1}');
    assert.equal(r.status, 200, key);
    if (owner === 'pod-dead') {
      moved++;
      assert.equal(r.text, ownerOf(d, SERVICE, key, new Set([deadEndpoint])), `${key}: its next owner`);
    } else {
      assert.equal(r.text, owner, `${key}: its owner`);
    }
  }
  assert.ok(moved > 0, 'some keys were owned by the refused pod');
  assertNothingInFlight(d, SERVICE);
});

test('a connect failure is told to passive health: outlier detection ejects the refused pod', async (t) => {
  const backends = await pods(t);
  const dead = { name: 'pod-dead', address: `127.0.0.1:${await closedPort()}` };
  const d = await openDispatcher(t, {
    [SERVICE]: { endpoints: [...endpointSpecs(backends), dead], balancer: { algorithm: 'ring-hash' }, key: 'header:x-tenant', proxy: { outlier: { consecutiveGatewayFailure: 2, consecutive5xx: 2 } } },
  });
  const keys = KEYS.filter((k) => ownerOf(d, SERVICE, k) === 'pod-dead').slice(0, 4);
  for (const key of keys) assert.equal((await send('GET', key, d)).status, 200);
  const outlier = d.plane(SERVICE)!.outlier!;
  await until('pod-dead is ejected', () => outlier.isEjected('pod-dead'));
});

test('a 503 for an idempotent request is retried on the next owner; for a POST it is the answer', async (t) => {
  const failing = new Set<string>();
  const backends = await pods(t, failingWhile(failing));
  const d = await openDispatcher(t, { [SERVICE]: { endpoints: endpointSpecs(backends), balancer: { algorithm: 'maglev' }, key: 'header:x-tenant', proxy: { outlier: false } } });
  const key = KEYS[7]!;
  const owner = ownerOf(d, SERVICE, key);
  const next = ownerOf(d, SERVICE, key, new Set([endpointNamed(d, SERVICE, owner)]));
  failing.add(owner);
  assert.deepEqual(await send('GET', key, d), { status: 200, text: next });
  assert.deepEqual(await send('PUT', key, d, 'x'), { status: 200, text: next });
  const before = backends.find((b) => b.name === next)!.requests;
  assert.deepEqual(await send('POST', key, d, 'x'), { status: 503, text: 'unavailable' });
  assert.equal(backends.find((b) => b.name === next)!.requests, before, 'the POST was not sent again');
  // Every pod failing: the retries run out, and the last answer is the caller's.
  for (const b of backends) failing.add(b.name);
  assert.equal((await send('GET', key, d)).status, 503);
  assertNothingInFlight(d, SERVICE);
});

test('retries off (proxy.retries.retries 0): a 503 and a refused connection are the caller\'s', async (t) => {
  const failing = new Set<string>();
  const backends = await pods(t, failingWhile(failing));
  const dead = { name: 'pod-dead', address: `127.0.0.1:${await closedPort()}` };
  const d = await openDispatcher(t, { [SERVICE]: { endpoints: [...endpointSpecs(backends), dead], balancer: { algorithm: 'ring-hash' }, key: 'header:x-tenant', proxy: { outlier: false, retries: { retries: 0 } } } });
  const toDead = KEYS.find((k) => ownerOf(d, SERVICE, k) === 'pod-dead')!;
  await assert.rejects(send('GET', toDead, d), { code: 'ECONNREFUSED' });
  const toLive = KEYS.find((k) => ownerOf(d, SERVICE, k) !== 'pod-dead')!;
  failing.add(ownerOf(d, SERVICE, toLive));
  assert.equal((await send('GET', toLive, d)).status, 503);
  assertNothingInFlight(d, SERVICE);
});

test('each attempt ends its pick exactly once: a request held at a pod keeps its count at one while others succeed, fail, retry and abort', async (t) => {
  let release: () => void = () => undefined;
  const held = new Promise<void>((r) => (release = r));
  const failing = new Set<string>();
  const backends = await pods(t, (req, res, b) => {
    if (req.url === '/hold') {
      void held.then(() => res.end(b.name));
      return;
    }
    if (req.url === '/slow') {
      setTimeout(() => res.end(b.name), 2_000).unref();
      return;
    }
    failingWhile(failing)(req, res, b);
  });
  const d = await openDispatcher(t, { [SERVICE]: { endpoints: endpointSpecs(backends), balancer: { algorithm: 'ring-hash' }, key: 'header:x-tenant', proxy: { outlier: false } } });
  const key = KEYS[3]!;
  const owner = ownerOf(d, SERVICE, key);
  const board = d.plane(SERVICE)!.board;
  const inflight = (): number => board.load(owner)!.inflight;
  const holding = request(`${SERVICE_URL}/hold`, { dispatcher: d, headers: { 'x-tenant': key } });
  await until('the held request is in flight', () => inflight() === 1);
  for (let i = 0; i < 5; i++) assert.equal((await send('GET', key, d)).status, 200);
  failing.add(owner);
  assert.equal((await send('GET', key, d)).status, 200, 'retried on the next owner');
  assert.equal((await send('POST', key, d, 'x')).status, 503);
  failing.clear();
  const aborted = new AbortController();
  const slow = request(`${SERVICE_URL}/slow`, { dispatcher: d, headers: { 'x-tenant': key }, signal: aborted.signal });
  await until('the slow request is in flight', () => inflight() === 2);
  const slowBefore = backends.reduce((n, b) => n + b.requests, 0);
  aborted.abort();
  await assert.rejects(slow, { name: 'AbortError' });
  assert.equal(inflight(), 1, 'only the held request is still counted');
  assert.equal(backends.reduce((n, b) => n + b.requests, 0), slowBefore, 'the aborted request was not retried');
  release();
  assert.equal(await (await holding).body.text(), owner);
  assertNothingInFlight(d, SERVICE);
});

test('no endpoint can take the request: it fails with SG_ERR_NO_ENDPOINT and the reason, through fetch and undici.request', async (t) => {
  const backends = await pods(t);
  const d = await openDispatcher(t, { [SERVICE]: { endpoints: endpointSpecs(backends).map((e) => ({ ...e, draining: true })), balancer: { algorithm: 'ring-hash' }, key: 'header:x-tenant' } });
  await assert.rejects(send('GET', 'a', d), (e: unknown) => e instanceof ShardRoutingError && e.code === 'SG_ERR_NO_ENDPOINT' && e.reason === 'all-unavailable' && e.message.startsWith(`${SERVICE}: no endpoint is ready`));
  await assert.rejects(fetch(`${SERVICE_URL}/`, { dispatcher: d } as unknown as RequestInit), (e: Error) => (e.cause as { code?: string }).code === 'SG_ERR_NO_ENDPOINT');
  assert.equal(backends.reduce((n, b) => n + b.requests, 0), 0);
});

test('subsets: the selector header chooses the pods, and a request no subset serves fails with SG_ERR_NO_SUBSET', async (t) => {
  const backends = await pods(t);
  const specs = endpointSpecs(backends).map((e, i) => ({ ...e, labels: { version: i === 0 ? 'v2' : 'v1' } }));
  const d = await openDispatcher(t, { [SERVICE]: { endpoints: specs, balancer: { algorithm: 'ring-hash' }, key: 'header:x-tenant', subsets: { selectors: [{ header: 'x-version', label: 'version' }], fallback: 'fail' } } });
  for (const key of KEYS.slice(0, 10)) {
    const r = await request(`${SERVICE_URL}/`, { dispatcher: d, headers: { 'x-tenant': key, 'X-Version': 'v2' } });
    assert.equal(await r.body.text(), 'pod-0', key);
  }
  await assert.rejects(request(`${SERVICE_URL}/`, { dispatcher: d, headers: { 'x-tenant': 'a', 'x-version': 'v9' } }), { code: 'SG_ERR_NO_SUBSET' });
});
