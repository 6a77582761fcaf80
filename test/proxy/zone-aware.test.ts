/**
 * Zone-aware routing end to end: config parsed as `shardgate serve` parses it, the data plane
 * built as a worker builds it, real HTTP pods on loopback in three zones, requests through the
 * real proxy.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { Client } from 'undici';
import { createEndpointSet } from '../../src/balancer/endpoint.js';
import type { EndpointSpec } from '../../src/balancer/endpoint.js';
import { seededRng } from '../../src/balancer/rng.js';
import type { DataPlane } from '../../src/dataplane/data-plane.js';
import { createDataPlane } from '../../src/dataplane/create-data-plane.js';
import { createProxy } from '../../src/proxy/create-proxy.js';
import type { ShardingProxy } from '../../src/proxy/proxy.js';
import { parseConfig } from '../../src/config/config.js';
import type { Backend } from '../helpers/backends.js';
import { closeBackends, startBackend } from '../helpers/backends.js';
import { send, waitFor } from './harness.js';

const silent = pino({ level: 'silent' });

interface Proxy {
  readonly plane: DataPlane;
  readonly proxy: ShardingProxy;
  readonly client: Client;
  readonly specs: EndpointSpec[];
}

/** Six pods, two per zone a, b and c: `a-0`, `a-1`, `b-0`... */
async function zonedPods(): Promise<{ backends: Backend[]; specs: EndpointSpec[] }> {
  const names = ['a-0', 'a-1', 'b-0', 'b-1', 'c-0', 'c-1'];
  const backends = await Promise.all(names.map((n) => startBackend(n)));
  return { backends, specs: backends.map((b) => ({ name: b.name, address: b.address, zone: b.name.slice(0, 1) })) };
}

async function startProxy(doc: Record<string, unknown>, specs: EndpointSpec[], seed: number): Promise<Proxy> {
  const config = parseConfig({ ...doc, endpoints: specs });
  const plane = createDataPlane(config, { logger: silent, rng: seededRng(seed) });
  const proxy = await createProxy(config, plane, silent);
  plane.apply(createEndpointSet(specs, 1));
  const { port } = await proxy.listen(0, '127.0.0.1');
  return { plane, proxy, client: new Client(`http://127.0.0.1:${port}`), specs };
}

async function stop(p: Proxy): Promise<void> {
  await waitFor(() => p.plane.board.totalInflight === 0, 'in-flight back to zero');
  await p.client.close();
  await p.proxy.close();
  await p.plane.close();
}

/** The pod that served each of `count` requests, one after another. */
async function served(p: Proxy, count: number, headers: Record<string, string> = {}): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const r = await send(p.client, '/', { headers });
    assert.equal(r.status, 200, r.text);
    out.push(r.headers['x-shardgate-endpoint'] as string);
  }
  return out;
}

test('zones through the proxy: keyless requests stay in the proxy\'s zone; with one of its pods draining, half leave it, none to the draining pod', async () => {
  const { backends, specs } = await zonedPods();
  const p = await startProxy({ zone: 'a', balancer: { algorithm: 'p2c' } }, specs, 3);
  try {
    const whole = await served(p, 60);
    assert.deepEqual([...new Set(whole)].sort(), ['a-0', 'a-1']);
    p.plane.apply(createEndpointSet(specs.map((s) => ({ ...s, draining: s.name === 'a-1' })), 2));
    const half = await served(p, 400);
    const local = half.filter((n) => n === 'a-0').length;
    assert.equal(half.filter((n) => n === 'a-1').length, 0);
    // One of two own-zone pods out: each request stays with probability 1/2 (seeded; 400 draws).
    assert.ok(local > 160 && local < 240, `${local} of 400 stayed in zone a`);
    assert.deepEqual([...new Set(half)].sort(), ['a-0', 'b-0', 'b-1', 'c-0', 'c-1']);
  } finally {
    await stop(p);
    await closeBackends(backends);
  }
});

test('zones through the proxy: two proxies in different zones send every key to the same pod; their keyless requests stay home', async () => {
  const { backends, specs } = await zonedPods();
  const doc = { balancer: { algorithm: 'ring-hash', boundedLoad: 1.25 }, key: 'header:x-affinity' };
  const inA = await startProxy({ ...doc, zone: 'a' }, specs, 1);
  const inB = await startProxy({ ...doc, zone: 'b' }, specs, 2);
  try {
    const owners = new Set<string>();
    for (let k = 0; k < 60; k++) {
      const headers = { 'x-affinity': `tenant-${k}` };
      const [a] = await served(inA, 1, headers);
      const [b] = await served(inB, 1, headers);
      assert.equal(a, b, `tenant-${k}: the same owner from zone a and zone b`);
      owners.add(a!);
    }
    assert.ok(owners.size >= 5, `keys spread over the zones: ${[...owners].join(', ')}`);
    assert.deepEqual([...new Set(await served(inA, 40))].sort(), ['a-0', 'a-1'], 'the keyless fallback prefers zone a');
    assert.deepEqual([...new Set(await served(inB, 40))].sort(), ['b-0', 'b-1'], 'and zone b');
  } finally {
    await stop(inA);
    await stop(inB);
    await closeBackends(backends);
  }
});
