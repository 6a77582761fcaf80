/**
 * ShardingProxy.reconfigure (route-generation.ts): requests that start after it route with the new
 * plane; a request under way finishes on the one it started on, whose drain (its pools closed)
 * waits for it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { Client } from 'undici';
import { monotonicClock } from '../../src/balancer/clock.js';
import { createBalancer, defaultBalancerConfig } from '../../src/balancer/factory.js';
import { LoadBoard } from '../../src/balancer/load-board.js';
import { seededRng } from '../../src/balancer/rng.js';
import { DataPlane } from '../../src/dataplane/data-plane.js';
import { parseKeySource } from '../../src/proxy/key-source.js';
import { startBackends } from '../helpers/backends.js';
import type { Backend } from '../helpers/backends.js';
import { send, startProxy } from './harness.js';

/** A plane routing by `header` with ring-hash, given the harness's current set. */
function planeReading(header: string, current: DataPlane): DataPlane {
  const board = new LoadBoard(monotonicClock);
  const plane = new DataPlane({
    clock: monotonicClock,
    logger: pino({ level: 'silent' }),
    board,
    balancer: createBalancer(defaultBalancerConfig('maglev'), { clock: monotonicClock, rng: seededRng(2), board }),
    keySource: parseKeySource(`header:${header}`),
  });
  plane.apply(current.current!);
  return plane;
}

test('reconfigure: new requests use the new plane; one under way finishes on the old, and the drain waits for it', async (t) => {
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  const backends: Backend[] = await startBackends(3, 'pod', (req, res, b) => {
    const finish = (): void => {
      res.setHeader('content-type', 'text/plain');
      res.end(b.name);
    };
    if (req.headers['x-slow'] === '1') void held.then(finish);
    else finish();
  });
  const h = await startProxy({ backends, algorithm: 'ring-hash', keySource: 'header:x-old' });
  t.after(() => h.stop());
  const client = new Client(h.origin);
  t.after(() => client.close());

  // On a connection of its own: the others must not queue behind it.
  const slowClient = new Client(h.origin);
  t.after(() => slowClient.close());
  const slow = send(slowClient, '/', { headers: { 'x-old': 'k', 'x-slow': '1' } });
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(h.board.totalInflight, 1, 'the slow request is in flight on the old plane');

  const fresh = planeReading('x-new', h.plane);
  t.after(() => fresh.close());
  let drained = false;
  const drain = h.proxy.reconfigure(fresh, {}).then(() => (drained = true));

  // New requests are picked on the new plane's board, none on the old one's; the key comes from
  // x-new, so one key always reaches one pod.
  const picks = (p: DataPlane): number => p.board.loads.reduce((n, l) => n + l.picks, 0);
  const oldPicks = picks(h.plane);
  const owners = new Set<string>();
  for (let i = 0; i < 20; i++) {
    const r = await send(client, '/', { headers: { 'x-new': 'one-key' } });
    assert.equal(r.status, 200);
    owners.add(r.text);
  }
  assert.equal(owners.size, 1, `one key, one pod: ${[...owners].join(', ')}`);
  assert.equal(picks(fresh), 20, 'new requests were picked on the new board');
  assert.equal(picks(h.plane), oldPicks, 'none on the old one');
  assert.equal(drained, false, 'the old plane still has a request');

  release();
  const r = await slow;
  assert.equal(r.status, 200, 'the request under way finished on the old plane');
  await drain;
  assert.equal(drained, true);
  assert.equal(h.board.totalInflight, 0);
});

test('reconfigure: with nothing under way the old plane drains at once; a closing proxy refuses', async (t) => {
  const backends = await startBackends(2);
  const h = await startProxy({ backends, algorithm: 'ring-hash' });
  t.after(() => h.stop());
  const fresh = planeReading('x-a', h.plane);
  t.after(() => fresh.close());
  await h.proxy.reconfigure(fresh, { maxBodyBytes: 10 });
  const client = new Client(h.origin);
  t.after(() => client.close());
  const big = await send(client, '/', { method: 'POST', body: 'x'.repeat(100), headers: { 'x-a': 'k' } });
  assert.equal(big.status, 413, 'the new options apply: maxBodyBytes');
  await h.proxy.close();
  assert.throws(() => h.proxy.reconfigure(planeReading('x-b', fresh), {}), /closing/);
});
