/**
 * `GET /v1/status` and `/readyz?strict` of the real `shardgate serve --admin`, with one thread and
 * with worker threads, against real pods on loopback: the numbers are the traffic sent.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StatusAnswer } from '../../src/admin/status-routes.js';
import type { ReadinessReport } from '../../src/admin/readiness.js';
import type { RingPicture } from '../../src/admin/ring-picture.js';
import type { AssignmentSnapshot } from '../../src/directory/directory.js';
import { until } from '../helpers/until.js';
import { adminJson, serveFleet, startPods } from '../helpers/page-fleet.js';

for (const workers of [1, 2]) {
  test(`status (--workers ${workers}): counts, in flight against the limit, and the routing config, as sent`, { timeout: 60_000 }, async (t) => {
    const pods = await startPods(t, 3);
    const fleet = await serveFleet(t, pods, { proxy: { maxInflight: 5 } }, ['--workers', String(workers)]);
    const keyed = 60;
    const keyless = 10;
    for (let i = 0; i < keyed; i++) assert.equal((await fleet.send(`account-${i}`)).status, 200);
    for (let i = 0; i < keyless; i++) assert.equal((await fleet.send(null)).status, 200);

    const { status, body: s } = await adminJson<StatusAnswer>(fleet.admin, '/v1/status');
    assert.equal(status, 200);
    assert.equal(s.threads, workers);
    assert.deepEqual(s.balancer, { algorithm: 'ring-hash', keyless: 'p2c', boundedLoad: 1.25 });
    assert.deepEqual(s.key, { source: 'header:x-account', transform: null });
    assert.deepEqual(s.set, { version: 1, generation: 1, endpoints: 3, inRotation: 3 });
    assert.deepEqual(s.totals, { requests: keyed + keyless, failures: 0, inflight: 0 });
    assert.equal(s.queued, 0);
    assert.deepEqual(
      s.endpoints.map((e) => [e.name, e.address, e.state, e.requests, e.samples, e.failures, e.inflight, e.maxInflight]),
      pods.map((p) => [p.name, p.address, 'ready', p.requests, p.requests, 0, 0, 5]),
      'each pod got what the status counts',
    );
    for (const e of s.endpoints) {
      assert.ok(e.latencySumMs > 0 && e.latencyMs !== null && e.latencyMs > 0, `${e.name} has latency figures`);
      assert.equal(e.bound, 1, 'ceil(1.25 x 1 / 3): the bound a new request meets on an idle fleet');
    }
    for (const path of ['/healthz', '/readyz', '/v1/status', '/v1/status/ring', '/', '/v1/owner', '/v1/assignments']) assert.ok(s.paths.includes(path), `paths has ${path}`);

    // The ring: runs from 0 to 1 in order, whose lengths per pod are the shares the directory gives.
    const ring = (await adminJson<RingPicture>(fleet.admin, '/v1/status/ring')).body;
    assert.deepEqual([ring.generation, ring.endpoints], [1, pods.map((p) => p.name)]);
    assert.equal(ring.arcs[0]![0], 0);
    const lengths = new Map<string, number>();
    ring.arcs.forEach(([start, home], i) => {
      const end = i + 1 < ring.arcs.length ? ring.arcs[i + 1]![0] : 1;
      assert.ok(end > start && home >= 0, `arc ${i} runs forward and has a home`);
      lengths.set(ring.endpoints[home]!, (lengths.get(ring.endpoints[home]!) ?? 0) + end - start);
    });
    const shares = (await adminJson<AssignmentSnapshot>(fleet.admin, '/v1/assignments')).body.members;
    for (const m of shares) assert.ok(Math.abs(lengths.get(m.endpoint)! - m.share) < 0.001, `${m.endpoint}: ring ${lengths.get(m.endpoint)} vs share ${m.share}`);

    // Hold every pod's answers: the status counts what is in flight, where.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const before = pods.map((p) => p.requests);
    for (const p of pods) p.hold = held;
    const sending = Array.from({ length: 4 }, (_, i) => fleet.send(`held-${i}`));
    await until('four requests at the pods', () => pods.reduce((n, p, i) => n + p.requests - before[i]!, 0) === 4);
    const during = (await adminJson<StatusAnswer>(fleet.admin, '/v1/status')).body;
    assert.deepEqual(during.endpoints.map((e) => e.inflight), pods.map((p, i) => p.requests - before[i]!));
    assert.equal(during.totals.inflight, 4);
    assert.ok(during.uptimeMs > s.uptimeMs, 'uptime moves on, for rates');
    for (const p of pods) p.hold = null;
    release();
    for (const r of await Promise.all(sending)) assert.equal(r.status, 200);
    const after = (await adminJson<StatusAnswer>(fleet.admin, '/v1/status')).body;
    assert.deepEqual([after.totals.inflight, after.totals.requests], [0, keyed + keyless + 4]);
  });

  test(`readyz?strict (--workers ${workers}): 503 naming each endpoint's state when health checks fail every pod; plain /readyz unchanged`, { timeout: 60_000 }, async (t) => {
    const pods = await startPods(t, 2);
    const healthCheck = { path: '/healthz', intervalMs: 100, jitterPercent: 0, timeoutMs: 500, unhealthyThreshold: 1, healthyThreshold: 1 };
    const fleet = await serveFleet(t, pods, { proxy: { healthCheck } }, ['--workers', String(workers)]);
    const probe = (strict: boolean): Promise<{ status: number; body: ReadinessReport }> => adminJson<ReadinessReport>(fleet.admin, strict ? '/readyz?strict' : '/readyz');
    const waitFor = async (what: string, ok: (r: { status: number; body: ReadinessReport }) => boolean): Promise<{ status: number; body: ReadinessReport }> => {
      let last = await probe(true);
      for (const deadline = Date.now() + 10_000; !ok(last) && Date.now() < deadline; last = await probe(true)) await new Promise((r) => setTimeout(r, 100));
      assert.ok(ok(last), `${what}: ${JSON.stringify(last)}`);
      return last;
    };
    const healthy = await waitFor('ready', (r) => r.status === 200 && r.body.rotation?.inRotation === 2);
    assert.deepEqual(healthy.body.rotation, { inRotation: 2, states: { 'pod-0': 'ready', 'pod-1': 'ready' } });

    for (const p of pods) p.failing = true;
    const failing = await waitFor('strictly unready', (r) => r.status === 503);
    assert.equal(failing.body.reason, 'no endpoint in rotation: 2 failing-checks');
    assert.deepEqual(failing.body.rotation, { inRotation: 0, states: { 'pod-0': 'failing-checks', 'pod-1': 'failing-checks' } });
    const plain = await probe(false);
    assert.equal(plain.status, 200, 'plain readiness keeps the proxy in its Service');
    assert.deepEqual(plain.body, { ready: true, reason: null, discovery: { source: 'inline', state: 'synced', error: null }, endpoints: { version: 1, total: 2, draining: 0 } });
    const status = (await adminJson<StatusAnswer>(fleet.admin, '/v1/status')).body;
    assert.deepEqual(status.endpoints.map((e) => [e.state, e.health]), [['failing-checks', 'unhealthy'], ['failing-checks', 'unhealthy']]);

    pods[1]!.failing = false;
    const back = await waitFor('ready again', (r) => r.status === 200);
    assert.deepEqual(back.body.rotation, { inRotation: 1, states: { 'pod-0': 'failing-checks', 'pod-1': 'ready' } });
  });
}
