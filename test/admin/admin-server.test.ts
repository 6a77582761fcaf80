import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import { request } from 'undici';
import { AdminServer } from '../../src/admin/admin-server.js';
import { LIVENESS_PATH, PROBE_PATHS, READINESS_PATH } from '../../src/admin/probes.js';
import { Readiness } from '../../src/admin/readiness.js';
import { StaticListSource } from '../../src/discovery/static-list.js';

async function started(t: TestContext): Promise<{ base: string; readiness: Readiness; source: StaticListSource }> {
  const readiness = new Readiness('inline');
  const source = new StaticListSource([{ name: 'a', address: '127.0.0.1:1' }]);
  readiness.attach(source);
  const admin = new AdminServer(readiness);
  const { port } = await admin.listen(0, '127.0.0.1');
  t.after(() => admin.close());
  return { base: `http://127.0.0.1:${port}`, readiness, source };
}

async function fetchJson(url: string, method: 'GET' | 'HEAD' | 'POST' = 'GET'): Promise<{ status: number; body: unknown; text: string; headers: Record<string, string | string[] | undefined> }> {
  const r = await request(url, { method });
  const text = await r.body.text();
  return { status: r.statusCode, body: text === '' ? null : JSON.parse(text), text, headers: r.headers };
}

test('admin: liveness answers at once; readiness is 503 until the first set routes, then 200 with the report', async (t) => {
  const { base, readiness, source } = await started(t);
  assert.deepEqual(PROBE_PATHS, [LIVENESS_PATH, READINESS_PATH]);
  const live = await fetchJson(base + LIVENESS_PATH);
  assert.deepEqual([live.status, live.body], [200, { live: true }]);
  const before = await fetchJson(base + READINESS_PATH);
  assert.equal(before.status, 503);
  assert.equal((before.body as { reason: string }).reason, 'starting: waiting for the first endpoint set');
  readiness.accepted(source.set);
  readiness.listening();
  const after = await fetchJson(base + READINESS_PATH);
  assert.equal(after.status, 200);
  assert.deepEqual(after.body, { ready: true, reason: null, discovery: { source: 'inline', state: 'synced', error: null }, endpoints: { version: 1, total: 1, draining: 0 } });
  assert.equal(after.headers['cache-control'], 'no-store');
  readiness.shuttingDown();
  assert.equal((await fetchJson(base + READINESS_PATH)).status, 503);
  assert.equal((await fetchJson(base + LIVENESS_PATH)).status, 200, 'a process shutting down is still alive');
});

test('admin: unknown paths get 404 naming the probes, other methods 405, HEAD no body', async (t) => {
  const { base } = await started(t);
  const missing = await fetchJson(`${base}/metricz`);
  assert.equal(missing.status, 404);
  assert.match((missing.body as { error: string }).error, /\/metricz.*\/healthz.*\/readyz/);
  const post = await fetchJson(base + LIVENESS_PATH, 'POST');
  assert.equal(post.status, 405);
  assert.equal(post.headers.allow, 'GET, HEAD');
  const head = await fetchJson(base + LIVENESS_PATH, 'HEAD');
  assert.deepEqual([head.status, head.text], [200, '']);
});
