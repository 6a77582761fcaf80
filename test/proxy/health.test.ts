/**
 * Passive and active health, and per-endpoint max concurrency, through the proxy against real
 * pods: an ejected pod is skipped and readmitted, a pod failing its checks leaves rotation, and a
 * hot key at max concurrency spills to its next owners and waits rather than failing.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Client, Pool } from 'undici';
import { monotonicClock } from '../../src/balancer/clock.js';
import { hashKey } from '../../src/balancer/hash.js';
import type { HashingBalancer } from '../../src/balancer/hashing-balancer.js';
import { LoadBoard } from '../../src/balancer/load-board.js';
import type { OutlierEvent } from '../../src/balancer/outlier-detector.js';
import { OutlierDetector, validateOutlierOptions } from '../../src/balancer/outlier-detector.js';
import { seededRng } from '../../src/balancer/rng.js';
import { HealthChecker } from '../../src/proxy/health-check.js';
import type { Backend } from '../helpers/backends.js';
import { startBackend, startBackends } from '../helpers/backends.js';
import { assertNoInflight, send, startProxy, waitFor } from './harness.js';

/** A pod that answers 500 while `broken` is set, and 200 with its name otherwise. */
async function flakyPod(name: string, state: { broken: boolean }): Promise<Backend> {
  return startBackend(name, (req, res) => {
    req.resume();
    if (req.url === '/healthz') {
      res.writeHead(state.broken ? 503 : 200).end();
      return;
    }
    if (state.broken) res.writeHead(500).end('broken');
    else res.end(name);
  });
}

function keyOwnedBy(balancer: HashingBalancer, name: string): string {
  for (let i = 0; ; i++) if (balancer.owner(hashKey(`k-${i}`))?.name === name) return `k-${i}`;
}

test('outlier detection: a pod answering 5xx is ejected, its keys go to their next owner, and come back when it is readmitted', async () => {
  const state = { broken: true };
  const bad = await flakyPod('pod-0', state);
  const good = await startBackends(2, 'pod-x');
  const events: OutlierEvent[] = [];
  const board = new LoadBoard(monotonicClock);
  const outlier = new OutlierDetector({
    board,
    rng: seededRng(1),
    options: validateOutlierOptions({ intervalMs: 20, baseEjectionTimeMs: 150, consecutive5xx: 3 }, 'outlier'),
    onEvent: (e) => events.push(e),
  });
  // The harness builds its own board; the detector must act on the proxy's: build both here.
  const h = await startProxy({ backends: [bad, ...good], algorithm: 'ring-hash', board, proxy: { outlier } });
  const client = new Client(h.origin);
  try {
    const balancer = h.balancer as HashingBalancer;
    const key = keyOwnedBy(balancer, 'pod-0');
    const next = balancer.preference(hashKey(key), 2)[1]!.name;
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await send(client, '/', { headers: { 'x-affinity': key } })).status);
    assert.deepEqual(statuses, [500, 500, 500]);
    assert.deepEqual(events.map((e) => [e.kind, e.endpoint]), [['ejected', 'pod-0']]);
    // Ejected: skipped by the balancer, the key served by its next owner.
    const moved = await send(client, '/', { headers: { 'x-affinity': key } });
    assert.equal(moved.status, 200);
    assert.equal(moved.text, next);
    state.broken = false;
    await waitFor(() => events.some((e) => e.kind === 'readmitted'), 'pod-0 to be readmitted', 3_000);
    const back = await send(client, '/', { headers: { 'x-affinity': key } });
    assert.equal(back.text, 'pod-0', 'the key is home again');
    await assertNoInflight(h);
  } finally {
    await client.close();
    await h.stop();
  }
});

test('active health checks: a pod failing its checks leaves rotation and returns once it passes', async () => {
  const state = { broken: false };
  const pod = await flakyPod('pod-0', state);
  const other = await startBackend('pod-1');
  const board = new LoadBoard(monotonicClock);
  const checker = new HealthChecker({ board, rng: seededRng(2), options: { intervalMs: 20, jitterPercent: 0, timeoutMs: 500, unhealthyThreshold: 2, healthyThreshold: 1 } });
  const h = await startProxy({ backends: [pod, other], algorithm: 'round-robin', keySource: null, board, proxy: { healthChecker: checker } });
  const client = new Client(h.origin);
  try {
    state.broken = true;
    await waitFor(() => checker.state('pod-0') === 'unhealthy', 'pod-0 to fail its checks');
    const served = new Set<string>();
    for (let i = 0; i < 6; i++) served.add((await send(client, '/')).text);
    assert.deepEqual([...served], ['pod-1'], 'only the healthy pod serves');
    state.broken = false;
    await waitFor(() => checker.state('pod-0') === 'healthy', 'pod-0 to pass again');
    for (let i = 0; i < 6; i++) served.add((await send(client, '/')).text);
    assert.deepEqual([...served].sort(), ['pod-0', 'pod-1']);
  } finally {
    await client.close();
    await h.stop();
  }
});

test('max concurrency: a hot key spills to its next owners at the limit, never above it, and waits when all are full', async () => {
  const peaks = new Map<string, number>();
  const current = new Map<string, number>();
  const backends = await startBackends(3, 'pod', (req, res, backend) => {
    req.resume();
    const n = (current.get(backend.name) ?? 0) + 1;
    current.set(backend.name, n);
    peaks.set(backend.name, Math.max(peaks.get(backend.name) ?? 0, n));
    setTimeout(() => {
      current.set(backend.name, (current.get(backend.name) ?? 1) - 1);
      res.end(backend.name);
    }, 15);
  });
  const limit = 4;
  const board = new LoadBoard(monotonicClock, { maxInflight: limit });
  const h = await startProxy({ backends, algorithm: 'ring-hash', board, proxy: { queue: { max: 100, timeoutMs: 5_000 } } });
  const pool = new Pool(h.origin, { connections: 20 });
  try {
    const balancer = h.balancer as HashingBalancer;
    const key = 'hot-account';
    const order = balancer.preference(hashKey(key), 3).map((e) => e.name);
    // 20 at once for one key: 4 at the owner, 4 at each next owner, the rest wait for a slot.
    const replies = await Promise.all(Array.from({ length: 20 }, () => send(pool, '/', { headers: { 'x-affinity': key } })));
    assert.ok(replies.every((r) => r.status === 200), 'nobody got 503');
    for (const name of order) assert.ok((peaks.get(name) ?? 0) <= limit, `${name} peaked at ${peaks.get(name)} > ${limit}`);
    assert.equal(peaks.get(order[0]!), limit, 'the owner was filled to its limit first');
    const byPod = new Map<string, number>();
    for (const r of replies) byPod.set(r.text, (byPod.get(r.text) ?? 0) + 1);
    assert.ok((byPod.get(order[0]!) ?? 0) >= limit);
    await assertNoInflight(h);
  } finally {
    await pool.close();
    await h.stop();
  }
});

test('max concurrency: past the queue\'s time a waiting request gets 503 saturated', async () => {
  const backends = await startBackends(1, 'pod', (req, res, backend) => {
    req.resume();
    setTimeout(() => res.end(backend.name), 300);
  });
  const board = new LoadBoard(monotonicClock, { maxInflight: 1 });
  const h = await startProxy({ backends, algorithm: 'round-robin', keySource: null, board, proxy: { queue: { max: 10, timeoutMs: 50 } } });
  const pool = new Pool(h.origin, { connections: 2 });
  try {
    const [first, second] = await Promise.all([send(pool, '/'), send(pool, '/')]);
    assert.equal(first.status, 200);
    assert.equal(second.status, 503);
    assert.match(second.text, /saturated/);
    await assertNoInflight(h);
  } finally {
    await pool.close();
    await h.stop();
  }
});

test('draining: an endpoint marked draining gets no new requests, its in-flight request finishes, its idle connections close', async () => {
  let release: (() => void) | null = null;
  const slow = await startBackend('pod-0', (req, res) => {
    req.resume();
    if (req.url === '/slow') release = () => res.end('pod-0 slow');
    else setTimeout(() => res.end('pod-0'), 20);
  });
  const other = await startBackend('pod-1');
  let closedSockets = 0;
  slow.server.on('connection', (s) => s.on('close', () => closedSockets++));
  const h = await startProxy({ backends: [slow, other], algorithm: 'round-robin', keySource: null });
  const pool = new Pool(h.origin, { connections: 4 });
  try {
    // Two requests at once give pod-0 two connections; then one of them carries a request held in
    // flight while the other sits idle.
    const warm = await Promise.all([0, 1, 2, 3].map(() => send(pool, '/')));
    assert.equal(warm.filter((r) => r.text === 'pod-0').length, 2);
    const held = send(pool, '/slow');
    await waitFor(() => release !== null, 'the slow request to reach pod-0');
    const { createEndpointSet } = await import('../../src/balancer/endpoint.js');
    h.plane.apply(createEndpointSet([{ name: 'pod-0', address: slow.address, draining: true }, { name: 'pod-1', address: other.address }], 2));
    for (let i = 0; i < 4; i++) assert.equal((await send(pool, '/')).text, 'pod-1', 'no new request for the draining pod');
    await waitFor(() => closedSockets === 1, 'its idle connection to close');
    assert.equal(closedSockets, 1, 'the busy one stays');
    release!();
    assert.equal((await held).text, 'pod-0 slow', 'the in-flight request finished');
    await waitFor(() => closedSockets === 2, 'the last connection to close once idle');
    await assertNoInflight(h);
  } finally {
    await pool.close();
    await h.stop();
  }
});
