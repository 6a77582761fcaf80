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

/**
 * The two paths a request takes: request()'s callback handler, routed by the dispatcher itself
 * (legacy-request.ts), and a controller handler, which an interceptor composed over the
 * dispatcher hands on, through the pick and retry interceptors (controller-request.ts).
 */
const PATHS: Record<string, (d: Dispatcher) => Dispatcher> = {
  'callback handler': (d) => d,
  'controller handler': (d) => d.compose((dispatch) => (opts, handler) => dispatch(opts, handler)),
};

for (const [path, via] of Object.entries(PATHS)) {
  test(`${path}: a refused pod: its keys are served by their next owner, other keys stay where they are`, async (t) => {
    const backends = await pods(t);
    const dead = { name: 'pod-dead', address: `127.0.0.1:${await closedPort()}` };
    const d = await openDispatcher(t, { [SERVICE]: { endpoints: [...endpointSpecs(backends), dead], balancer: { algorithm: 'ring-hash' }, key: 'header:x-tenant', proxy: { outlier: false } } });
    const c = via(d);
    const deadEndpoint = endpointNamed(d, SERVICE, 'pod-dead');
    let moved = 0;
    for (const key of KEYS.slice(0, 60)) {
      const owner = ownerOf(d, SERVICE, key);
      const r = await send('POST', key, c, '{"amount":1}');
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

  test(`${path}: a connect failure is told to passive health: outlier detection ejects the refused pod`, async (t) => {
    const backends = await pods(t);
    const dead = { name: 'pod-dead', address: `127.0.0.1:${await closedPort()}` };
    const d = await openDispatcher(t, {
      [SERVICE]: { endpoints: [...endpointSpecs(backends), dead], balancer: { algorithm: 'ring-hash' }, key: 'header:x-tenant', proxy: { outlier: { consecutiveGatewayFailure: 2, consecutive5xx: 2 } } },
    });
    const c = via(d);
    const keys = KEYS.filter((k) => ownerOf(d, SERVICE, k) === 'pod-dead').slice(0, 4);
    for (const key of keys) assert.equal((await send('GET', key, c)).status, 200);
    const outlier = d.plane(SERVICE)!.outlier!;
    await until('pod-dead is ejected', () => outlier.isEjected('pod-dead'));
  });

  test(`${path}: a 503 for an idempotent request is retried on the next owner; for a POST it is the answer`, async (t) => {
    const failing = new Set<string>();
    const backends = await pods(t, failingWhile(failing));
    const d = await openDispatcher(t, { [SERVICE]: { endpoints: endpointSpecs(backends), balancer: { algorithm: 'maglev' }, key: 'header:x-tenant', proxy: { outlier: false } } });
    const c = via(d);
    const key = KEYS[7]!;
    const owner = ownerOf(d, SERVICE, key);
    const next = ownerOf(d, SERVICE, key, new Set([endpointNamed(d, SERVICE, owner)]));
    failing.add(owner);
    assert.deepEqual(await send('GET', key, c), { status: 200, text: next });
    assert.deepEqual(await send('PUT', key, c, 'x'), { status: 200, text: next });
    const before = backends.find((b) => b.name === next)!.requests;
    assert.deepEqual(await send('POST', key, c, 'x'), { status: 503, text: 'unavailable' });
    assert.equal(backends.find((b) => b.name === next)!.requests, before, 'the POST was not sent again');
    // Every pod failing: the retries run out, and the last answer is the caller's.
    for (const b of backends) failing.add(b.name);
    assert.equal((await send('GET', key, c)).status, 503);
    assertNothingInFlight(d, SERVICE);
  });

  test(`${path}: retries off (proxy.retries.retries 0): a 503 and a refused connection are the caller's`, async (t) => {
    const failing = new Set<string>();
    const backends = await pods(t, failingWhile(failing));
    const dead = { name: 'pod-dead', address: `127.0.0.1:${await closedPort()}` };
    const d = await openDispatcher(t, { [SERVICE]: { endpoints: [...endpointSpecs(backends), dead], balancer: { algorithm: 'ring-hash' }, key: 'header:x-tenant', proxy: { outlier: false, retries: { retries: 0 } } } });
    const c = via(d);
    const toDead = KEYS.find((k) => ownerOf(d, SERVICE, k) === 'pod-dead')!;
    await assert.rejects(send('GET', toDead, c), { code: 'ECONNREFUSED' });
    const toLive = KEYS.find((k) => ownerOf(d, SERVICE, k) !== 'pod-dead')!;
    failing.add(ownerOf(d, SERVICE, toLive));
    assert.equal((await send('GET', toLive, c)).status, 503);
    assertNothingInFlight(d, SERVICE);
  });

  test(`${path}: each attempt ends its pick exactly once: a request held at a pod keeps its count at one while others succeed, fail, retry and abort`, async (t) => {
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
    const c = via(d);
    const key = KEYS[3]!;
    const owner = ownerOf(d, SERVICE, key);
    const board = d.plane(SERVICE)!.board;
    const inflight = (): number => board.load(owner)!.inflight;
    const holding = request(`${SERVICE_URL}/hold`, { dispatcher: c, headers: { 'x-tenant': key } });
    await until('the held request is in flight', () => inflight() === 1);
    for (let i = 0; i < 5; i++) assert.equal((await send('GET', key, c)).status, 200);
    failing.add(owner);
    assert.equal((await send('GET', key, c)).status, 200, 'retried on the next owner');
    assert.equal((await send('POST', key, c, 'x')).status, 503);
    failing.clear();
    const aborted = new AbortController();
    const total = (): number => backends.reduce((n, b) => n + b.requests, 0);
    const slowBefore = total() + 1;
    const slow = request(`${SERVICE_URL}/slow`, { dispatcher: c, headers: { 'x-tenant': key }, signal: aborted.signal });
    await until('the slow request reached its pod', () => total() === slowBefore && inflight() === 2);
    aborted.abort();
    await assert.rejects(slow, { name: 'AbortError' });
    assert.equal(inflight(), 1, 'only the held request is still counted');
    assert.equal(total(), slowBefore, 'the aborted request was not retried');
    // Node's own fetch aborts through the abort function it was given: the same.
    const fetchAborted = new AbortController();
    const fetched = fetch(`${SERVICE_URL}/slow`, { dispatcher: c, headers: { 'x-tenant': key }, signal: fetchAborted.signal } as unknown as RequestInit);
    const fetchBefore = total() + 1;
    await until('the fetched request reached its pod', () => total() === fetchBefore && inflight() === 2);
    fetchAborted.abort();
    await assert.rejects(fetched, { name: 'AbortError' });
    await until('the aborted fetch is no longer counted', () => inflight() === 1);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(total(), fetchBefore, 'the aborted fetch was not retried');
    release();
    assert.equal(await (await holding).body.text(), owner);
    assertNothingInFlight(d, SERVICE);
  });

  test(`${path}: no endpoint can take the request: it fails with SG_ERR_NO_ENDPOINT and the reason, through fetch and undici.request`, async (t) => {
    const backends = await pods(t);
    const d = await openDispatcher(t, { [SERVICE]: { endpoints: endpointSpecs(backends).map((e) => ({ ...e, draining: true })), balancer: { algorithm: 'ring-hash' }, key: 'header:x-tenant' } });
    const c = via(d);
    await assert.rejects(send('GET', 'a', c), (e: unknown) => e instanceof ShardRoutingError && e.code === 'SG_ERR_NO_ENDPOINT' && e.reason === 'all-unavailable' && e.message.startsWith(`${SERVICE}: no endpoint is ready`));
    await assert.rejects(fetch(`${SERVICE_URL}/`, { dispatcher: c } as unknown as RequestInit), (e: Error) => (e.cause as { code?: string }).code === 'SG_ERR_NO_ENDPOINT');
    assert.equal(backends.reduce((n, b) => n + b.requests, 0), 0);
  });

  test(`${path}: subsets: the selector header chooses the pods, and a request no subset serves fails with SG_ERR_NO_SUBSET`, async (t) => {
    const backends = await pods(t);
    const specs = endpointSpecs(backends).map((e, i) => ({ ...e, labels: { version: i === 0 ? 'v2' : 'v1' } }));
    const d = await openDispatcher(t, { [SERVICE]: { endpoints: specs, balancer: { algorithm: 'ring-hash' }, key: 'header:x-tenant', subsets: { selectors: [{ header: 'x-version', label: 'version' }], fallback: 'fail' } } });
    const c = via(d);
    for (const key of KEYS.slice(0, 10)) {
      const r = await request(`${SERVICE_URL}/`, { dispatcher: c, headers: { 'x-tenant': key, 'X-Version': 'v2' } });
      assert.equal(await r.body.text(), 'pod-0', key);
    }
    await assert.rejects(request(`${SERVICE_URL}/`, { dispatcher: c, headers: { 'x-tenant': 'a', 'x-version': 'v9' } }), { code: 'SG_ERR_NO_SUBSET' });
  });
}
