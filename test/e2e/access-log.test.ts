/**
 * The access log of the real binary: off by default, one JSON line per request with `--access-log
 * FILE`, sampled by `--access-log-sample`, switched at run time by POST /v1/access-log.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import { join } from 'node:path';
import { test } from 'node:test';
import { closeBackends, startBackend } from '../helpers/backends.js';
import { until } from '../helpers/until.js';
import { tempDir } from '../cli/run.js';
import { adminGet, send, serve } from '../helpers/served-admin.js';

function post(port: number, path: string, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (s: string) => (text += s));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The file's lines once there are at least `n` (polled: lines follow the responses by a moment). */
async function linesUntil(file: string, n: number): Promise<Record<string, unknown>[]> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const got = await lines(file);
    if (got.length >= n || Date.now() > deadline) return got;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function lines(file: string): Promise<Record<string, unknown>[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

test('access log: one JSON line per request with its fields and the key hash, never the key; sampled; switched at run time', async (t) => {
  const pod = await startBackend('pod-0');
  t.after(() => closeBackends([pod]));
  const dir = await tempDir(t);
  const file = join(dir, 'access.log');
  const { served, port, admin } = await serve(t, ['--endpoints', `pod-0=${pod.address}`, '--balancer', 'ring-hash', '--key', 'header:x-key', '--workers', '1', '--access-log', file]);
  for (let i = 0; i < 10; i++) assert.equal((await send(port, { method: 'POST', path: `/orders/${i}?x=1`, headers: { 'x-key': `secret-account-${i}` }, body: 'twelve bytes' })).status, 200);
  // A line is written when the response closes, a moment after the client has it.
  let logged = await linesUntil(file, 10);
  assert.equal(logged.length, 10);
  const first = logged[0]!;
  for (const field of ['time', 'method', 'path', 'status', 'endpoint', 'keyHash', 'attempts', 'upstreamMs', 'totalMs', 'bytesIn', 'bytesOut', 'code']) assert.ok(field in first, `no ${field} in ${JSON.stringify(first)}`);
  assert.equal(first['method'], 'POST');
  assert.equal(first['path'], '/orders/0?x=1');
  assert.equal(first['status'], 200);
  assert.equal(first['endpoint'], 'pod-0');
  assert.match(String(first['keyHash']), /^[0-9a-f]{16}$/);
  assert.equal(first['attempts'], 1);
  assert.equal(first['bytesIn'], 12);
  assert.equal(first['bytesOut'], 'pod-0'.length);
  assert.equal(first['code'], null);
  assert.ok(Number(first['totalMs']) >= Number(first['upstreamMs']));
  assert.ok(!(await readFile(file, 'utf8')).includes('secret-account'), 'the key itself is never logged');
  assert.equal(new Set(logged.map((l) => l['keyHash'])).size, 10);
  assert.ok(served.lines.every((l) => l['log'] !== 'access'), 'nothing of the access log on stdout');

  assert.deepEqual(JSON.parse((await adminGet(admin, '/v1/access-log')).body), { enabled: true, sampleRate: 1 });
  assert.deepEqual(JSON.parse((await post(admin, '/v1/access-log', '{"sampleRate":0.5}')).body), { enabled: true, sampleRate: 0.5 });
  const sampled = 400;
  for (let i = 0; i < sampled; i += 20) await Promise.all(Array.from({ length: 20 }, (_, j) => send(port, { headers: { 'x-key': `k${i + j}` } })));
  await new Promise((resolve) => setTimeout(resolve, 200));
  logged = await lines(file);
  const half = logged.length - 10;
  // Binomial(400, 0.5): 200 +- 10; 6 standard deviations either way.
  assert.ok(half > 140 && half < 260, `${half} of ${sampled} logged at rate 0.5`);

  assert.deepEqual(JSON.parse((await post(admin, '/v1/access-log', '{"enabled":false}')).body), { enabled: false, sampleRate: 0.5 });
  for (let i = 0; i < 20; i++) await send(port, { headers: { 'x-key': 'off' } });
  assert.equal((await lines(file)).length, logged.length, 'nothing logged while off');

  const refused = await post(admin, '/v1/access-log', '{"sampleRate":2}');
  assert.equal(refused.status, 400);
  assert.match(refused.body, /sampleRate is 2: use a number from 0 to 1/);
  assert.equal((await post(admin, '/v1/access-log', '{"rate":1}')).status, 400);
  assert.equal((await post(admin, '/v1/access-log', 'on')).status, 400);
  assert.deepEqual(JSON.parse((await adminGet(admin, '/v1/access-log')).body), { enabled: false, sampleRate: 0.5 }, 'a refused change changes nothing');
});

test('access log: off by default; POST /v1/access-log turns it on, to stdout, in every worker', async (t) => {
  const pod = await startBackend('pod-0');
  t.after(() => closeBackends([pod]));
  const { served, port, admin } = await serve(t, ['--endpoints', `pod-0=${pod.address}`, '--balancer', 'round-robin', '--workers', '2']);
  for (let i = 0; i < 10; i++) await send(port);
  assert.deepEqual(JSON.parse((await adminGet(admin, '/v1/access-log')).body), { enabled: false, sampleRate: 1 });
  assert.equal(served.lines.filter((l) => l['log'] === 'access').length, 0);
  assert.equal((await post(admin, '/v1/access-log', '{"enabled":true}')).status, 200);
  // The workers hear of it by message: once a line shows up, both have had it.
  await until(
    'a first access line',
    () => {
      void send(port).catch(() => undefined);
      return served.lines.some((l) => l['log'] === 'access');
    },
    10_000,
  );
  await new Promise((resolve) => setTimeout(resolve, 300));
  const before = served.lines.filter((l) => l['log'] === 'access').length;
  // Fresh connections: the kernel spreads them over both workers, so a worker left off would lose about half.
  for (let i = 0; i < 40; i += 10) await Promise.all(Array.from({ length: 10 }, () => send(port)));
  await until('40 more access lines', () => served.lines.filter((l) => l['log'] === 'access').length >= before + 40, 5_000);
  await new Promise((resolve) => setTimeout(resolve, 200));
  const access = served.lines.filter((l) => l['log'] === 'access');
  assert.equal(access.length, before + 40);
  assert.ok(access.every((l) => l['endpoint'] === 'pod-0' && l['status'] === 200 && l['keyHash'] === null));
});
