/**
 * Subsets end to end: config parsed as `shardgate serve` parses it, the data plane built as a
 * worker builds it, real HTTP pods on loopback, requests through the real proxy.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { test } from 'node:test';
import { pino } from 'pino';
import { Client, Pool } from 'undici';
import { createEndpointSet } from '../../src/balancer/endpoint.js';
import type { EndpointSpec } from '../../src/balancer/endpoint.js';
import { seededRng } from '../../src/balancer/rng.js';
import type { DataPlane } from '../../src/dataplane/data-plane.js';
import { createDataPlane } from '../../src/dataplane/create-data-plane.js';
import { createProxy } from '../../src/proxy/create-proxy.js';
import type { ShardingProxy } from '../../src/proxy/proxy.js';
import { parseConfig } from '../../src/config/config.js';
import type { Backend, BackendHandler } from '../helpers/backends.js';
import { closeBackends, closedPort, nameHandler, startBackend } from '../helpers/backends.js';
import { send, waitFor } from './harness.js';

const silent = pino({ level: 'silent' });

interface Running {
  readonly plane: DataPlane;
  readonly proxy: ShardingProxy;
  readonly client: Client;
  readonly origin: string;
  readonly backends: readonly Backend[];
}

/** Pods named and labelled as given, a proxy from `doc` (endpoints filled in) in front of them. */
async function run(doc: Record<string, unknown>, pods: readonly { name: string; version: string }[], fn: (r: Running) => Promise<void>, handler: BackendHandler = nameHandler, extra: readonly EndpointSpec[] = []): Promise<void> {
  const backends = await Promise.all(pods.map((p) => startBackend(p.name, handler)));
  const endpoints = [...backends.map((b, i) => ({ name: b.name, address: b.address, labels: { version: pods[i]!.version } })), ...extra];
  const config = parseConfig({ ...doc, endpoints });
  const plane = createDataPlane(config, { logger: silent, rng: seededRng(5) });
  const proxy = await createProxy(config, plane, silent);
  let client: Client | null = null;
  try {
    assert.ok(config.endpoints.kind === 'inline');
    plane.apply(createEndpointSet(config.endpoints.specs, 1));
    const { port } = await proxy.listen(0, '127.0.0.1');
    const origin = `http://127.0.0.1:${port}`;
    client = new Client(origin);
    await fn({ plane, proxy, client, origin, backends });
    await waitFor(() => plane.board.totalInflight === 0, 'in-flight back to zero');
  } finally {
    await client?.close();
    await proxy.close();
    await plane.close();
    await closeBackends(backends);
  }
}

const PODS = [
  { name: 'v1-0', version: 'v1' },
  { name: 'v1-1', version: 'v1' },
  { name: 'v2-0', version: 'v2' },
  { name: 'v2-1', version: 'v2' },
];

test('subsets through the proxy: x-version picks the pods with that version, keys keep their owner within it, no header uses every pod', async () => {
  const dead = await closedPort();
  const doc = { balancer: { algorithm: 'ring-hash' }, key: 'header:x-affinity', subsets: { selectors: [{ header: 'x-version', label: 'version' }], fallback: 'fail' } };
  // A v2 pod that refuses connections: its keys are retried on their next owner in v2, never in v1.
  const extra = [{ name: 'v2-dead', address: `127.0.0.1:${dead}`, labels: { version: 'v2' } }];
  await run(
    doc,
    PODS,
    async ({ client, plane }) => {
      const owners = new Map<string, string>();
      for (let round = 0; round < 2; round++) {
        for (let k = 0; k < 40; k++) {
          const r = await send(client, '/', { headers: { 'x-version': 'v2', 'x-affinity': `account-${k}` } });
          assert.equal(r.status, 200, r.text);
          const pod = r.headers['x-shardgate-endpoint'] as string;
          assert.ok(pod === 'v2-0' || pod === 'v2-1', `account-${k} went to ${pod}`);
          if (round === 0) owners.set(`account-${k}`, pod);
          else assert.equal(pod, owners.get(`account-${k}`), `account-${k} keeps its owner`);
        }
      }
      assert.equal(new Set(owners.values()).size, 2, 'keys spread over the subset');
      const seen = new Set<string>();
      for (let k = 0; k < 40; k++) seen.add((await send(client, '/', { headers: { 'x-affinity': `account-${k}` } })).headers['x-shardgate-endpoint'] as string);
      assert.ok(seen.has('v1-0') && seen.has('v1-1') && seen.has('v2-0'), `no header: every pod, got ${[...seen].join(', ')}`);
      assert.equal(plane.subsets?.subsets, 2);
    },
    nameHandler,
    extra,
  );
});

test('subsets through the proxy: a value no pod has gets 503 naming the label and value, JSON for HTTP and UNAVAILABLE for gRPC', async () => {
  const doc = { balancer: { algorithm: 'p2c' }, subsets: { selectors: [{ header: 'x-version', label: 'version' }], fallback: 'fail' } };
  await run(doc, PODS, async ({ client, origin, backends }) => {
    const r = await send(client, '/orders', { method: 'POST', body: 'payload', headers: { 'x-version': 'v9', 'content-type': 'text/plain' } });
    assert.equal(r.status, 503);
    assert.equal(r.headers['content-type'], 'application/json');
    const body = JSON.parse(r.text) as { error: string; code: string };
    assert.equal(body.code, 'SG_ERR_NO_SUBSET');
    assert.equal(body.error, 'no subset serves the request: no endpoint has the labels version="v9" (header x-version)');
    assert.equal(backends.reduce((a, b) => a + b.requests, 0), 0, 'no pod saw it');
    const session = http2.connect(origin);
    try {
      const trailers = await new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
        const stream = session.request({ ':method': 'POST', ':path': '/pkg.Svc/Call', 'content-type': 'application/grpc', te: 'trailers', 'x-version': 'v9' });
        stream.on('response', (headers) => resolve(headers));
        stream.on('error', reject);
        stream.end(Buffer.alloc(5));
        stream.resume();
      });
      assert.equal(trailers[':status'], 200);
      assert.equal(trailers['grpc-status'], '14', 'UNAVAILABLE');
      assert.match(String(trailers['grpc-message']), /version="v9"/);
    } finally {
      session.close();
    }
    assert.equal((await send(client, '/', { headers: { 'x-version': 'v1' } })).status, 200, 'a known value still serves');
  });
});

test('subsets through the proxy: fallback any serves an unknown value from every pod; a json: key is routed within the subset', async () => {
  const doc = { balancer: { algorithm: 'maglev' }, key: 'json:account', subsets: { selectors: [{ header: 'x-version', label: 'version' }] } };
  await run(doc, PODS, async ({ client }) => {
    const seen = new Set<string>();
    for (let i = 0; i < 30; i++) {
      const r = await send(client, '/', { method: 'POST', body: JSON.stringify({ account: `a-${i}` }), headers: { 'x-version': 'v1', 'content-type': 'application/json' } });
      assert.equal(r.status, 200);
      seen.add(r.headers['x-shardgate-endpoint'] as string);
    }
    assert.deepEqual([...seen].sort(), ['v1-0', 'v1-1']);
    const any = new Set<string>();
    for (let i = 0; i < 40; i++) any.add((await send(client, '/', { method: 'POST', body: JSON.stringify({ account: `b-${i}` }), headers: { 'x-version': 'v7' } })).headers['x-shardgate-endpoint'] as string);
    assert.equal(any.size, 4, 'fallback any: every pod');
  });
});

test('subsets through the proxy: requests waiting for room in a full subset are served from that subset only', async () => {
  // Pods answer after 40 ms, so that four requests at once fill the two v2 pods (limit 1 each).
  const slow: BackendHandler = (req, res, backend) => {
    req.resume();
    req.on('end', () =>
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(backend.name);
      }, 40),
    );
  };
  const doc = { balancer: { algorithm: 'round-robin' }, subsets: { selectors: [{ header: 'x-version', label: 'version' }] }, proxy: { maxInflight: 1 } };
  await run(
    doc,
    PODS,
    async ({ origin, plane }) => {
      // A connection each: the proxy forwards one request per client connection at a time.
      const pool = new Pool(origin, { connections: 6 });
      const replies = await Promise.all(Array.from({ length: 6 }, () => send(pool, '/', { headers: { 'x-version': 'v2' } }))).finally(() => pool.close());
      for (const r of replies) assert.equal(r.status, 200);
      const pods = replies.map((r) => r.headers['x-shardgate-endpoint'] as string);
      assert.deepEqual([...new Set(pods)].sort(), ['v2-0', 'v2-1'], `every waiting request stayed in v2: ${pods.join(', ')}`);
      assert.equal(plane.board.loads.reduce((a, l) => a + l.inflight, 0), 0);
    },
    slow,
  );
});
