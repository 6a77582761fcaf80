/**
 * The proxy end to end over loopback: per-request routing by every key source, one keep-alive
 * client spread over all pods, the endpoint header, and the 503s for each NoPick reason. Every
 * test checks that in-flight returns to zero (R4).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Client } from 'undici';
import type { Balancer } from '../../src/balancer/balancer.js';
import { monotonicClock } from '../../src/balancer/clock.js';
import { createEndpointSet } from '../../src/balancer/endpoint.js';
import { DEFAULT_KEYLESS, createBalancer, defaultBalancerConfig } from '../../src/balancer/factory.js';
import { hashKey } from '../../src/balancer/hash.js';
import { HashingBalancer } from '../../src/balancer/hashing-balancer.js';
import { LoadBoard } from '../../src/balancer/load-board.js';
import { RingHash } from '../../src/balancer/ring-hash.js';
import { seededRng } from '../../src/balancer/rng.js';
import { ConfigError } from '../../src/errors.js';
import { ShardingProxy } from '../../src/proxy/proxy.js';
import { closeBackends, endpointSpecs, startBackends } from '../helpers/backends.js';
import { assertNoInflight, barePlane, oneConnection, send, startProxy } from './harness.js';

const KEYS = Array.from({ length: 24 }, (_, i) => `acct-${i * 7919}`);

/** The owner of `key` by an independent ring-hash balancer over the same set: what the lookup API answers. */
function ownerOf(key: string, names: readonly { name: string; address: string }[]): string {
  const board = new LoadBoard(monotonicClock);
  const balancer = createBalancer(defaultBalancerConfig('ring-hash'), { clock: monotonicClock, rng: seededRng(99), board }) as HashingBalancer;
  balancer.update(createEndpointSet(names, 1));
  return balancer.owner(hashKey(key))!.name;
}

const SOURCES: readonly { spec: string; request: (key: string) => { path: string; headers?: Record<string, string> } }[] = [
  { spec: 'header:X-Affinity', request: (key) => ({ path: '/items', headers: { 'x-affinity': key } }) },
  { spec: 'cookie:sid', request: (key) => ({ path: '/items', headers: { cookie: `theme=dark; sid=${key}; lang=en` } }) },
  { spec: 'query:account', request: (key) => ({ path: `/items?page=2&account=${key}` }) },
  { spec: 'path:1', request: (key) => ({ path: `/accounts/${key}/orders` }) },
];

for (const source of SOURCES) {
  test(`${source.spec}: every request for a key reaches its owner, and x-shardgate-endpoint names it`, async () => {
    const backends = await startBackends(4);
    const h = await startProxy({ backends, keySource: source.spec });
    const client = oneConnection(h);
    try {
      const seen = new Set<string>();
      for (const key of KEYS) {
        const owner = ownerOf(key, endpointSpecs(backends));
        for (let i = 0; i < 3; i++) {
          const r = await send(client, source.request(key).path, { headers: source.request(key).headers ?? {} });
          assert.equal(r.status, 200);
          assert.equal(r.text, owner, `key ${key} went to ${r.text}, its owner is ${owner}`);
          assert.equal(r.headers['x-shardgate-endpoint'], owner);
        }
        seen.add(owner);
      }
      assert.ok(seen.size >= 3, `24 keys should spread over most of 4 pods, saw ${[...seen].join(', ')}`);
      await assertNoInflight(h);
    } finally {
      await client.close();
      await h.stop();
    }
  });
}

test('a request without a key takes the keyless fallback', async () => {
  const backends = await startBackends(3);
  const h = await startProxy({ backends, keySource: 'header:x-affinity' });
  const client = oneConnection(h);
  try {
    const r = await send(client, '/no-key');
    assert.equal(r.status, 200);
    assert.ok(['pod-0', 'pod-1', 'pod-2'].includes(r.text));
    await assertNoInflight(h);
  } finally {
    await client.close();
    await h.stop();
  }
});

test('round robin: one keep-alive connection spreads 100 requests 25/25/25/25 over 4 pods', async () => {
  const backends = await startBackends(4);
  const h = await startProxy({ backends, algorithm: 'round-robin', keySource: null });
  const client = oneConnection(h);
  let connections = 0;
  client.on('connect', () => connections++);
  try {
    const counts = new Map<string, number>();
    for (let i = 0; i < 100; i++) {
      const r = await send(client, `/r/${i}`);
      assert.equal(r.status, 200);
      counts.set(r.text, (counts.get(r.text) ?? 0) + 1);
    }
    assert.deepEqual([...counts.entries()].sort(), [['pod-0', 25], ['pod-1', 25], ['pod-2', 25], ['pod-3', 25]]);
    assert.deepEqual(backends.map((b) => b.requests), [25, 25, 25, 25]);
    assert.equal(connections, 1, 'all 100 requests rode one client connection');
    await assertNoInflight(h);
  } finally {
    await client.close();
    await h.stop();
  }
});

test('endpointHeader: false leaves x-shardgate-endpoint out', async () => {
  const backends = await startBackends(1);
  const h = await startProxy({ backends, endpointHeader: false });
  const client = oneConnection(h);
  try {
    const r = await send(client, '/', { headers: { 'x-affinity': 'k' } });
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-shardgate-endpoint'], undefined);
    await assertNoInflight(h);
  } finally {
    await client.close();
    await h.stop();
  }
});

test('503 with a JSON body naming the reason when the endpoint set is empty', async () => {
  const h = await startProxy({ backends: [] });
  const client = oneConnection(h);
  try {
    const r = await send(client, '/', { headers: { 'x-affinity': 'k' } });
    assert.equal(r.status, 503);
    assert.equal(r.headers['content-type'], 'application/json');
    const body = JSON.parse(r.text) as { error: string; code: string };
    assert.equal(body.code, 'SG_ERR_NO_ENDPOINT');
    assert.match(body.error, /empty/);
    // The connection stays usable: a refusal is an answer, not a failure.
    const again = await send(client, '/');
    assert.equal(again.status, 503);
    await assertNoInflight(h);
  } finally {
    await client.close();
    await h.stop();
  }
});

test('503 names all-unavailable, owner-missing and no-key', async () => {
  const backends = await startBackends(2);
  const draining = await startProxy({ endpoints: backends.map((b) => ({ name: b.name, address: b.address, draining: true })) });
  const ordinal = await startProxy({
    backends,
    keySource: 'path:0',
    config: { algorithm: 'ordinal', loadFactor: null, keyless: DEFAULT_KEYLESS, replicas: 4, onMissing: 'fail' },
  });
  // A keyed balancer without a keyless fallback.
  const board = new LoadBoard(monotonicClock);
  const strict: Balancer = new HashingBalancer(new RingHash(0, 8_388_608), board, {});
  const noKeyPlane = barePlane(strict, board);
  const noKey = new ShardingProxy({ plane: noKeyPlane });
  noKeyPlane.apply(createEndpointSet(endpointSpecs(backends), 1));
  const { port } = await noKey.listen(0, '127.0.0.1');
  const clients = [oneConnection(draining), oneConnection(ordinal), new Client(`http://127.0.0.1:${port}`)];
  try {
    const cases: [Client, string, string][] = [
      [clients[0]!, '/', 'all-unavailable'],
      [clients[1]!, '/2', 'owner-missing'],
      [clients[2]!, '/', 'no-key'],
    ];
    for (const [client, path, reason] of cases) {
      const r = await send(client, path, { headers: { 'x-affinity': 'k' } });
      assert.equal(r.status, 503, reason);
      const body = JSON.parse(r.text) as { error: string; code: string };
      assert.equal(body.code, 'SG_ERR_NO_ENDPOINT');
      assert.ok(body.error.includes(reason), `"${body.error}" names ${reason}`);
    }
    // The ordinal owner of key 1 is present and serves it.
    const ok = await send(clients[1]!, '/1');
    assert.equal(ok.text, 'pod-1');
    await assertNoInflight(draining);
    await assertNoInflight(ordinal);
    assert.equal(board.totalInflight, 0);
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await draining.proxy.close();
    await ordinal.proxy.close();
    await noKey.close();
    await closeBackends(backends);
  }
});

test('options are validated with the field and the value', () => {
  const board = new LoadBoard(monotonicClock);
  const balancer = createBalancer(defaultBalancerConfig('round-robin'), { clock: monotonicClock, rng: seededRng(1), board });
  assert.throws(
    () => new ShardingProxy({ plane: barePlane(balancer, board), timeouts: { connectMs: -5 } }),
    (err: unknown) => err instanceof ConfigError && err.code === 'SG_ERR_CONFIG' && err.field === 'proxy.timeouts.connectMs' && err.message.includes('-5'),
  );
  assert.throws(
    () => new ShardingProxy({ plane: barePlane(balancer, board), maxHeaderBytes: 10 }),
    (err: unknown) => err instanceof ConfigError && err.field === 'proxy.maxHeaderBytes',
  );
});

test('listen on a port in use fails with SG_ERR_LISTEN, and close() is idempotent', async () => {
  const backends = await startBackends(1);
  const h = await startProxy({ backends });
  const board = new LoadBoard(monotonicClock);
  const balancer = createBalancer(defaultBalancerConfig('round-robin'), { clock: monotonicClock, rng: seededRng(1), board });
  const second = new ShardingProxy({ plane: barePlane(balancer, board) });
  try {
    await assert.rejects(second.listen(h.port, '127.0.0.1'), (err: unknown) => err instanceof ConfigError && err.code === 'SG_ERR_LISTEN' && err.message.includes(String(h.port)));
  } finally {
    await Promise.all([second.close(), second.close()]);
    await h.stop();
  }
});
