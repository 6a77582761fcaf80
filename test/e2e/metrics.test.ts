/**
 * `/metrics`, `/v1/hot-keys` and the 5xx warnings of the real binary, after real traffic through
 * the real proxy on loopback: the numbers a scrape gives are checked against what was sent.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import type { Answer } from '../helpers/served-admin.js';
import { adminGet, scrape, send, serve } from '../helpers/served-admin.js';
import type { Backend, BackendHandler } from '../helpers/backends.js';
import { closeBackends, closedPort, nameHandler, startBackend } from '../helpers/backends.js';
import { until } from '../helpers/until.js';
import type { LogLine, Served } from '../cli/run.js';

async function backends(t: TestContext, names: readonly string[], handler: BackendHandler = nameHandler): Promise<Backend[]> {
  const list = await Promise.all(names.map((n) => startBackend(n, handler)));
  t.after(() => closeBackends(list));
  return list;
}

const endpointsFlag = (list: readonly Backend[]): string => list.map((b) => `${b.name}=${b.address}`).join(',');

test('metrics: requests by endpoint, method and status class, latency histograms and keyed shares match the traffic; the text parses; /v1/hot-keys names the hottest key', async (t) => {
  const pods = await backends(t, ['pod-0', 'pod-1', 'pod-2']);
  const { port, admin } = await serve(t, ['--endpoints', endpointsFlag(pods), '--balancer', 'ring-hash', '--key', 'header:x-key', '--workers', '1']);
  const byEndpoint = new Map<string, number>();
  const sent: Promise<Answer>[] = [];
  for (let i = 0; i < 40; i++) sent.push(send(port, { headers: { 'x-key': i % 2 === 0 ? 'hot-account' : `account-${i}` } }));
  for (let i = 0; i < 6; i++) sent.push(send(port, { method: 'POST', headers: { 'x-key': `writer-${i}` }, body: 'payload' }));
  for (const a of await Promise.all(sent)) {
    assert.equal(a.status, 200);
    byEndpoint.set(a.endpoint!, (byEndpoint.get(a.endpoint!) ?? 0) + 1);
  }
  const m = await scrape(admin);
  assert.equal(m.types.get('shardgate_upstream_rq_total'), 'counter');
  assert.equal(m.types.get('shardgate_response_latency_seconds'), 'histogram');
  assert.equal(m.sum('shardgate_upstream_rq_total'), 46);
  assert.equal(m.sum('shardgate_upstream_rq_total', { method: 'read', code_class: '2xx' }), 40);
  assert.equal(m.sum('shardgate_upstream_rq_total', { method: 'write', code_class: '2xx' }), 6);
  for (const [endpoint, n] of byEndpoint) {
    assert.equal(m.sum('shardgate_upstream_rq_total', { endpoint }), n, endpoint);
    assert.equal(m.value('shardgate_keyed_rq_total', { endpoint }), n, endpoint);
    assert.equal(m.value('shardgate_loadbalanced_total', { endpoint }), n, endpoint);
    assert.equal(m.value('shardgate_response_latency_seconds_count', { endpoint }), n, endpoint);
    assert.equal(m.value('shardgate_upstream_rq_time_seconds_count', { endpoint }), n, endpoint);
    assert.equal(m.value('shardgate_response_latency_seconds_bucket', { endpoint, le: '+Inf' }), n, endpoint);
    assert.equal(m.value('shardgate_upstream_rq_active', { endpoint }), 0);
  }
  assert.equal(m.value('shardgate_membership_total'), 3);
  assert.equal(m.value('shardgate_membership_healthy'), 3);
  assert.equal(m.value('shardgate_discovery_state', { state: 'synced' }), 1);
  assert.equal(m.value('shardgate_membership_generation'), 1);
  assert.equal(m.value('shardgate_config_reloads_total', { result: 'failed' }), 0);
  const hot = m.select('shardgate_hot_key_rate');
  assert.ok(hot.length >= 1 && hot.length <= 10, `${hot.length} hot-key series`);
  assert.equal(hot.sort((a, b) => b.value - a.value)[0]!.labels['key'], 'hot-account');

  const r = await adminGet(admin, '/v1/hot-keys');
  assert.equal(r.status, 200);
  const report = JSON.parse(r.body) as { windowS: number; keys: { key: string; rate: number; share: number; endpoint: string | null }[] };
  assert.deepEqual(Object.keys(report), ['windowS', 'keys']);
  assert.equal(typeof report.windowS, 'number');
  assert.ok(report.keys.length > 0 && report.keys.length <= 20);
  for (const k of report.keys) assert.deepEqual(Object.keys(k), ['key', 'rate', 'share', 'endpoint']);
  for (let i = 1; i < report.keys.length; i++) assert.ok(report.keys[i - 1]!.rate >= report.keys[i]!.rate, 'highest rate first');
  const top = report.keys[0]!;
  assert.equal(top.key, 'hot-account');
  assert.ok(Math.abs(top.share - 20 / 46) < 0.01, `share ${top.share}, not 20/46`);
  assert.ok(pods.some((p) => p.name === top.endpoint));
  assert.equal((JSON.parse((await adminGet(admin, '/v1/hot-keys?n=2')).body) as { keys: unknown[] }).keys.length, 2);
  assert.equal((await adminGet(admin, '/v1/hot-keys?n=0')).status, 400);
});

test('metrics: a dead pod shows as retries and an ejection, its requests served by the other pod', async (t) => {
  const [live] = await backends(t, ['pod-0']);
  const dead = await closedPort();
  const { port, admin } = await serve(t, ['--endpoints', `pod-0=${live!.address},pod-dead=127.0.0.1:${dead}`, '--balancer', 'round-robin', '--workers', '1']);
  for (let i = 0; i < 20; i++) assert.equal((await send(port)).status, 200);
  const m = await scrape(admin);
  const retries = m.value('shardgate_upstream_rq_retry_total')!;
  assert.ok(retries >= 1, `${retries} retries`);
  assert.equal(m.value('shardgate_upstream_rq_retry_overflow_total'), 0, 'connect failures are retried outside the budget');
  assert.equal(m.sum('shardgate_upstream_rq_total', { endpoint: 'pod-0', code_class: '2xx' }), 20);
  assert.equal(m.value('shardgate_loadbalanced_total', { endpoint: 'pod-dead' }), retries, 'every pick of the dead pod was retried');
  assert.equal(m.value('shardgate_outlier_detection_ejections_total', { endpoint: 'pod-dead' }), 1);
  assert.equal(m.value('shardgate_outlier_detection_ejections_active', { endpoint: 'pod-dead' }), 1);
  assert.equal(m.value('shardgate_outlier_detection_ejections_active', { endpoint: 'pod-0' }), 0);
  assert.equal(m.value('shardgate_membership_healthy'), 1);
});

test('metrics: a hot key under bounded loads spills to its next owners; in-flight counts and the bounded-load cap are scraped while the requests wait', async (t) => {
  const held: (() => void)[] = [];
  const pods = await backends(t, ['pod-0', 'pod-1', 'pod-2', 'pod-3'], (req, res, b) => {
    req.resume();
    held.push(() => res.end(b.name));
  });
  const { port, admin } = await serve(t, ['--endpoints', endpointsFlag(pods), '--balancer', 'ring-hash', '--key', 'header:x-key', '--bounded-load', '1.25', '--workers', '1']);
  const answers = Array.from({ length: 12 }, () => send(port, { headers: { 'x-key': 'celebrity' } }));
  await until('12 requests at the pods', () => held.length === 12, 10_000);
  const during = await scrape(admin);
  assert.equal(during.sum('shardgate_upstream_rq_active'), 12);
  assert.equal(during.select('shardgate_bounded_load_limit').length, 4);
  for (const s of during.select('shardgate_upstream_rq_active')) {
    assert.ok(s.value <= during.value('shardgate_bounded_load_limit', { endpoint: s.labels['endpoint']! })!, `${s.labels['endpoint']} above its cap`);
  }
  for (const release of held.splice(0)) release();
  const served = new Set((await Promise.all(answers)).map((a) => a.endpoint));
  const after = await scrape(admin);
  const spills = after.value('shardgate_bounded_load_spills_total')!;
  // One owner holds at most ceil(1.25 x 12 / 4) = 4 of the 12; the rest went past it.
  assert.ok(spills >= 8, `${spills} spills`);
  assert.ok(served.size >= 3, `served by ${[...served].join(', ')}`);
  assert.equal(after.sum('shardgate_keyed_rq_total'), 12);
  assert.equal(after.sum('shardgate_upstream_rq_active'), 0);
});

function warnings(served: Served): LogLine[] {
  return served.lines.filter((l) => l['level'] === 40 && typeof l['status'] === 'number');
}

test('5xx warnings: every 502 and 503 names the pod, the cause and the NoPick reason, at most 10 a second, the rest counted', async (t) => {
  const [live] = await backends(t, ['pod-2']);
  const dead = await closedPort();
  const { served, port, admin } = await serve(t, ['--endpoints', `pod-0=127.0.0.1:${dead},pod-2=${live!.address}`, '--balancer', 'ordinal', '--replicas', '3', '--key', 'header:x-key', '--retries', '0', '--no-outlier-detection', '--workers', '1']);
  assert.equal((await send(port, { headers: { 'x-key': '0' } })).status, 502);
  assert.equal((await send(port, { headers: { 'x-key': '1' } })).status, 503);
  assert.equal((await send(port, { headers: { 'x-key': '2' } })).status, 200);
  await until('two warnings', () => warnings(served).length === 2);
  const [bad, missing] = warnings(served);
  assert.equal(bad!['status'], 502);
  assert.equal(bad!['endpoint'], 'pod-0');
  assert.equal(bad!['cause'], 'SG_ERR_UPSTREAM_CONNECT');
  assert.equal((bad!['upstreamError'] as { code: string }).code, 'ECONNREFUSED');
  assert.equal(bad!['reason'], null);
  assert.equal(missing!['status'], 503);
  assert.equal(missing!['endpoint'], null);
  assert.equal(missing!['cause'], 'SG_ERR_NO_ENDPOINT');
  assert.equal(missing!['reason'], 'owner-missing');
  assert.match(String(missing!['msg']), /owner-missing/);

  // A burst: 30 refusals in well under a second give at most 10 lines; the next line counts the rest.
  const burst = await Promise.all(Array.from({ length: 30 }, () => send(port, { headers: { 'x-key': '1' } })));
  assert.ok(burst.every((a) => a.status === 503));
  await new Promise((resolve) => setTimeout(resolve, 1_100));
  assert.equal((await send(port, { headers: { 'x-key': '1' } })).status, 503);
  await until('the line after the burst', () => warnings(served).some((l) => Number(l['suppressed']) > 0));
  const lines = warnings(served);
  const suppressed = lines.reduce((s, l) => s + Number(l['suppressed']), 0);
  assert.equal(lines.length + suppressed, 33, `${lines.length} lines and ${suppressed} suppressed for 33 gateway errors`);
  assert.ok(lines.length <= 2 + 10 + 1, `${lines.length} lines`);
  const m = await scrape(admin);
  assert.equal(m.value('shardgate_upstream_rq_total', { endpoint: '', method: 'read', code_class: '5xx' }), 32);
  assert.equal(m.value('shardgate_upstream_rq_total', { endpoint: 'pod-0', method: 'read', code_class: '5xx' }), 1);
});

test('metrics with --workers 2: one scrape sums both workers (counts equal the requests sent); in-flight counts, shared, are taken once', async (t) => {
  const held: (() => void)[] = [];
  let holding = false;
  const pods = await backends(t, ['pod-0', 'pod-1'], (req, res, b) => {
    req.resume();
    if (holding) held.push(() => res.end(b.name));
    else req.on('end', () => res.end(b.name));
  });
  const { port, admin } = await serve(t, ['--endpoints', endpointsFlag(pods), '--balancer', 'ring-hash', '--key', 'header:x-key', '--workers', '2']);
  const N = 60;
  for (let i = 0; i < N; i += 10) await Promise.all(Array.from({ length: 10 }, (_, j) => send(port, { headers: { 'x-key': `k-${(i + j) % 7}` } })));
  const m = await scrape(admin);
  assert.equal(m.sum('shardgate_upstream_rq_total'), N);
  assert.equal(m.sum('shardgate_loadbalanced_total'), N);
  assert.equal(m.sum('shardgate_keyed_rq_total'), N);
  assert.equal(m.sum('shardgate_response_latency_seconds_count'), N);
  assert.equal(m.value('shardgate_membership_total'), 2);
  const hot = JSON.parse((await adminGet(admin, '/v1/hot-keys')).body) as { keys: { key: string; share: number }[] };
  assert.equal(hot.keys.length, 7, 'the keys of both workers, merged');
  assert.ok(Math.abs(hot.keys.reduce((s, k) => s + k.share, 0) - 1) < 0.01);
  holding = true;
  const answers = Array.from({ length: 6 }, (_, i) => send(port, { headers: { 'x-key': `k-${i}` } }));
  await until('6 requests at the pods', () => held.length === 6, 10_000);
  const during = await scrape(admin);
  assert.equal(during.sum('shardgate_upstream_rq_active'), 6, 'the shared in-flight counts, not one copy per worker');
  for (const release of held.splice(0)) release();
  await Promise.all(answers);
  assert.equal((await scrape(admin)).sum('shardgate_upstream_rq_total'), N + 6);
});
