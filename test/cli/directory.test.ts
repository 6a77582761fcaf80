/**
 * The directory through the real binary: `shardgate directory` answers what `shardgate serve`
 * routes, as does serve's admin listener (one thread and worker threads); it listens before the
 * first set (503 until then); and with --handoff-delay-ms its stream announces a planned change
 * before it applies.
 */
import assert from 'node:assert/strict';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { request } from 'undici';
import type { OwnerAnswer } from '../../src/directory/owner-answer.js';
import type { ChangeEvent, PrepareEvent } from '../../src/directory/directory.js';
import { closedPort } from '../helpers/backends.js';
import { EventStreamClient } from '../helpers/event-stream.js';
import { backend, get, Served, tempDir } from './run.js';

async function portOf(served: Served, msg: string): Promise<number> {
  const line = await served.waitFor((l) => l.msg === msg, JSON.stringify(msg));
  return Number(/:(\d+)$/.exec(String(line.address))![1]);
}

async function ownersFrom(port: number, keys: readonly string[]): Promise<OwnerAnswer[]> {
  const r = await request(`http://127.0.0.1:${port}/v1/owners`, { method: 'POST', body: JSON.stringify(keys) });
  assert.equal(r.statusCode, 200);
  return ((await r.body.json()) as { owners: OwnerAnswer[] }).owners;
}

test('cli: shardgate directory and serve --admin (one thread and two workers) name the pod serve routes each key to', async (t) => {
  const pods = await Promise.all([0, 1, 2, 3].map((i) => backend(t, `sharded-svc-${i}`)));
  const endpoints = pods.map((address, i) => `sharded-svc-${i}=${address}`).join(',');
  const routing = ['--endpoints', endpoints, '--balancer', 'maglev', '--key', 'header:x-account', '--key-transform', 'prefix:8'];
  const keys = Array.from({ length: 60 }, (_, i) => `tenant${String(i).padStart(2, '0')}-user-${i * 31}`);
  const directory = new Served(t, ['directory', '--listen', '127.0.0.1:0', ...routing]);
  const onePort = await portOf(directory, 'listening');
  const serve = new Served(t, ['serve', '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--workers', '1', ...routing]);
  const { port: proxyPort } = await serve.address();
  const servePort = await portOf(serve, 'admin listening');
  const workers = new Served(t, ['serve', '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--workers', '2', ...routing]);
  await workers.address();
  const workersPort = await portOf(workers, 'admin listening');
  const routed = await Promise.all(keys.map(async (key) => (await get(proxyPort, { 'x-account': key })).endpoint));
  for (const port of [onePort, servePort, workersPort]) {
    const answers = await ownersFrom(port, keys);
    assert.deepEqual(answers.map((a) => a.endpoint), routed, `the directory on port ${port} agrees with the proxy`);
  }
  assert.ok(new Set(routed).size > 1);
  for (const s of [directory, serve, workers]) assert.equal((await s.stop()).code, 0);
});

test('cli: shardgate directory listens before discovery answers: 503 with a code until a set comes, /readyz says why', async (t) => {
  const silent = await closedPort();
  const directory = new Served(t, ['directory', '--listen', '127.0.0.1:0', '--discovery', 'srv:_http._tcp.sharded-svc.default.svc.cluster.local', '--dns-server', `127.0.0.1:${silent}`, '--balancer', 'ring-hash', '--key', 'header:x']);
  const port = await portOf(directory, 'listening');
  const owner = await request(`http://127.0.0.1:${port}/v1/owner?key=acct-1`);
  assert.equal(owner.statusCode, 503);
  assert.equal(((await owner.body.json()) as { code: string }).code, 'SG_ERR_NO_ENDPOINT');
  const ready = await request(`http://127.0.0.1:${port}/readyz`);
  assert.equal(ready.statusCode, 503);
  assert.match(((await ready.body.json()) as { reason: string }).reason, /waiting for the first endpoint set/);
  assert.equal((await request(`http://127.0.0.1:${port}/healthz`)).statusCode, 200);
  assert.equal((await directory.stop()).code, 0);
});

test('cli: with --handoff-delay-ms, a pod added to the endpoints file is announced on the stream, then applied by directory and proxy alike', async (t) => {
  const pods = await Promise.all([0, 1, 2].map((i) => backend(t, `sharded-svc-${i}`)));
  const dir = await tempDir(t);
  const file = join(dir, 'endpoints.json');
  const write = async (n: number): Promise<void> => {
    await writeFile(`${file}.tmp`, JSON.stringify(pods.slice(0, n).map((address, i) => ({ name: `sharded-svc-${i}`, address }))));
    await rename(`${file}.tmp`, file);
  };
  await write(2);
  const served = new Served(t, ['serve', '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--workers', '1', '--endpoints-file', file, '--balancer', 'rendezvous', '--key', 'header:x-account', '--handoff-delay-ms', '1500']);
  const { port } = await served.address();
  const admin = await portOf(served, 'admin listening');
  const watch = await EventStreamClient.open(`http://127.0.0.1:${admin}/v1/assignments/watch`);
  t.after(() => watch.close());
  await watch.next('snapshot');
  const keys = Array.from({ length: 40 }, (_, i) => `acct-${i}`);
  await write(3);
  const prepare = (await watch.next('prepare', 10_000)).data as PrepareEvent;
  assert.ok(prepare.diff.examples.every((m) => m.to === 'sharded-svc-2'));
  // Announced, not applied: the directory and the proxy still use the old set.
  assert.ok((await ownersFrom(admin, keys)).every((a) => a.endpoint !== 'sharded-svc-2'));
  const before = await Promise.all(keys.map(async (key) => (await get(port, { 'x-account': key })).endpoint));
  assert.ok(before.every((e) => e !== 'sharded-svc-2'));
  const change = (await watch.next('change', 10_000)).data as ChangeEvent;
  assert.deepEqual([change.planned, change.generation], [true, prepare.generation]);
  assert.ok(Date.now() >= prepare.effectiveAtMs - 100);
  const after = await Promise.all(keys.map(async (key) => (await get(port, { 'x-account': key })).endpoint));
  assert.deepEqual((await ownersFrom(admin, keys)).map((a) => a.endpoint), after, 'directory and proxy switched together');
  assert.ok(after.includes('sharded-svc-2'));
  assert.equal((await served.stop()).code, 0);
});
