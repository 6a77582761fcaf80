import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { test } from 'node:test';
import { ChildRegistry } from '../../../bench/common/children.js';
import { PodFleet } from '../../../bench/common/pod-fleet.js';

interface Answer {
  readonly status: number | string;
  readonly bytes: number;
  readonly ms: number;
}

/** One request on a connection of its own: the status and body size, or the error code; `'none'` when nothing came within `timeoutMs`. */
function send(port: number, method: string, headers: Record<string, string>, body?: Buffer, timeoutMs = 2_000): Promise<Answer> {
  const started = performance.now();
  return new Promise((resolve) => {
    const done = (status: number | string, bytes = 0): void => resolve({ status, bytes, ms: performance.now() - started });
    const req = http.request({ host: '127.0.0.1', port, method, path: '/', headers, agent: false }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => done(res.statusCode ?? 0, bytes));
    });
    req.setTimeout(timeoutMs, () => {
      req.destroy();
      done('none');
    });
    req.on('error', (e: NodeJS.ErrnoException) => done(e.code ?? e.message));
    req.end(body);
  });
}

async function start(t: TestContext): Promise<{ fleet: PodFleet; port: number; seen: () => string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'pods-'));
  const registry = new ChildRegistry();
  t.after(async () => {
    await registry.stopAll();
    rmSync(dir, { recursive: true, force: true });
  });
  const seenLog = join(dir, 'seen.log');
  const fleet = await PodFleet.start(registry, 1, join(dir, 'pods.log'), { firstIndex: 3, seenLog });
  const seen = (): string[] => readFileSync(seenLog, 'utf8').split('\n').filter((l) => l !== '');
  return { fleet, port: fleet.pods[0]!.port, seen };
}

test('pods process: named from --first-index; answers, reads bodies, sends downloads, answers late on request, logs the ids it takes on', async (t) => {
  const { fleet, port, seen } = await start(t);
  assert.equal(fleet.pods[0]!.name, 'pod-3');
  assert.equal((await send(port, 'GET', { 'x-request-id': 'g-1' })).status, 200);
  assert.equal((await send(port, 'POST', { 'x-request-id': 'p-1' }, Buffer.alloc(100_000))).status, 200);
  assert.equal((await send(port, 'GET', { 'x-download-bytes': '300000' })).bytes, 300_000);
  assert.ok((await send(port, 'GET', { 'x-delay-ms': '200' })).ms >= 190);
  assert.deepEqual(seen(), ['GET g-1', 'POST p-1']);
});

test('pods process: 503 mode answers 503 and takes nothing on; hang mode never answers; reset mode resets', async (t) => {
  const { fleet, port, seen } = await start(t);
  await fleet.setMode({ kind: 'unavailable' });
  assert.equal((await send(port, 'POST', { 'x-request-id': 'p-503' }, Buffer.from('x'))).status, 503);
  await fleet.setMode({ kind: 'hang' });
  assert.equal((await send(port, 'GET', { 'x-request-id': 'g-hang' }, undefined, 300)).status, 'none');
  await fleet.setMode({ kind: 'reset' });
  assert.equal((await send(port, 'GET', { 'x-request-id': 'g-reset' })).status, 'ECONNRESET');
  assert.deepEqual(seen(), ['GET g-hang']);
});

test('pods process: slow-read mode reads a body no faster than asked', async (t) => {
  const { fleet, port } = await start(t);
  await fleet.setMode({ kind: 'slow-read', bytesPerS: 1e6 });
  const a = await send(port, 'POST', {}, Buffer.alloc(400_000));
  assert.equal(a.status, 200);
  assert.ok(a.ms >= 350, `400 kB at 1 MB/s took ${a.ms.toFixed(0)} ms`);
});

test('pods process: a graceful restart listens again on the same port; a pod killed has logged what it took on', async (t) => {
  const { fleet, port, seen } = await start(t);
  await fleet.restart(50);
  assert.equal((await send(port, 'POST', { 'x-request-id': 'p-after' }, Buffer.from('x'))).status, 200);
  process.kill(fleet.child.pid, 'SIGKILL');
  await fleet.child.exited;
  assert.deepEqual(seen(), ['POST p-after']);
  await assert.rejects(fleet.stats(), /exited/);
});
