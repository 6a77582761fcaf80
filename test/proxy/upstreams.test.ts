/**
 * Upstream pools follow the endpoint set: new endpoints get a pool, removed ones close after
 * their in-flight requests, a changed address gets a new pool, a bad set changes nothing, and
 * upstream connections are kept alive.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { test } from 'node:test';
import { createEndpointSet } from '../../src/balancer/endpoint.js';
import { ConfigError } from '../../src/errors.js';
import { proxyH1Transport } from '../../src/proxy/upstreams.js';
import type { Backend } from '../helpers/backends.js';
import { nameHandler, startBackend } from '../helpers/backends.js';
import { assertNoInflight, oneConnection, send, startProxy, waitFor } from './harness.js';

/** Counts the backend's open connections. */
function trackConnections(backend: Backend): { open: number; total: number } {
  const counts = { open: 0, total: 0 };
  backend.server.on('connection', (socket: Socket) => {
    counts.open++;
    counts.total++;
    socket.on('close', () => counts.open--);
  });
  return counts;
}

function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/** Answers like nameHandler, except `/hold` waits for `release`. */
function holding(arrived: () => void, release: Promise<void>) {
  return (req: IncomingMessage, res: ServerResponse, backend: Backend): void => {
    if (req.url !== '/hold') return nameHandler(req, res, backend);
    req.resume();
    arrived();
    void release.then(() => res.end(`${backend.name} held`));
  };
}

test('pod connections are kept alive and reused', async () => {
  const backend = await startBackend('pod-0');
  const conns = trackConnections(backend);
  const h = await startProxy({ backends: [backend], keySource: null });
  const client = oneConnection(h);
  try {
    for (let i = 0; i < 20; i++) assert.equal((await send(client, '/')).status, 200);
    assert.equal(conns.total, 1, '20 sequential requests over one pod connection');
    await assertNoInflight(h);
  } finally {
    await client.close();
    await h.stop();
  }
});

test('an added endpoint gets a pool; a removed one finishes its in-flight request, then its pool closes', async () => {
  const arrived = gate();
  const release = gate();
  const a = await startBackend('pod-0', holding(arrived.open, release.promise));
  const b = await startBackend('pod-1');
  const aConns = trackConnections(a);
  const h = await startProxy({ backends: [a], algorithm: 'round-robin', keySource: null });
  const held = oneConnection(h);
  const client = oneConnection(h);
  try {
    // Add pod-1: round robin now alternates.
    h.plane.apply(createEndpointSet([{ name: 'pod-0', address: a.address }, { name: 'pod-1', address: b.address }], 2));
    const names = new Set<string>();
    for (let i = 0; i < 4; i++) names.add((await send(client, '/')).text);
    assert.deepEqual([...names].sort(), ['pod-0', 'pod-1']);

    // Hold a request on pod-0, then remove pod-0.
    let pending: Promise<{ status: number; text: string }> | null = null;
    for (let i = 0; i < 2 && pending === null; i++) {
      const r = send(held, '/hold');
      const first = await Promise.race([arrived.promise.then(() => 'held'), r.then(() => 'done')]);
      if (first === 'held') pending = r;
    }
    assert.ok(pending !== null, 'a request is held on pod-0');
    h.plane.apply(createEndpointSet([{ name: 'pod-1', address: b.address }], 3));
    for (let i = 0; i < 4; i++) assert.equal((await send(client, '/')).text, 'pod-1', 'new requests avoid the removed endpoint');
    assert.ok(aConns.open >= 1, 'the held request still has its connection');
    release.open();
    const r = await pending;
    assert.equal(r.status, 200);
    assert.equal(r.text, 'pod-0 held', 'the in-flight request on the removed endpoint finished');
    await waitFor(() => aConns.open === 0, "the removed endpoint's pool to close its connections");
    await assertNoInflight(h);
  } finally {
    await held.close();
    await client.close();
    await h.stop();
    await b.close();
  }
});

test('an endpoint whose address changed gets a new pool; the old one drains', async () => {
  const arrived = gate();
  const release = gate();
  const oldPod = await startBackend('old', holding(arrived.open, release.promise));
  const newPod = await startBackend('new');
  const oldConns = trackConnections(oldPod);
  const h = await startProxy({ endpoints: [{ name: 'pod-0', address: oldPod.address }], keySource: null });
  const held = oneConnection(h);
  const client = oneConnection(h);
  try {
    assert.equal((await send(client, '/')).text, 'old');
    const pending = send(held, '/hold');
    await arrived.promise;
    h.plane.apply(createEndpointSet([{ name: 'pod-0', address: `http://${newPod.address}` }], 2));
    const r = await send(client, '/');
    assert.equal(r.text, 'new');
    assert.equal(r.headers['x-shardgate-endpoint'], 'pod-0');
    release.open();
    assert.equal((await pending).text, 'old held');
    await waitFor(() => oldConns.open === 0, 'the old pool to close');
    await assertNoInflight(h);
  } finally {
    await held.close();
    await client.close();
    await h.stop();
    await Promise.all([oldPod.close(), newPod.close()]);
  }
});

test('a set with a bad address is refused whole and the old set keeps serving', async () => {
  const backend = await startBackend('pod-0');
  const h = await startProxy({ backends: [backend], keySource: null });
  const client = oneConnection(h);
  try {
    assert.throws(
      () => h.plane.apply(createEndpointSet([{ name: 'pod-0', address: backend.address }, { name: 'pod-1', address: 'no-port-here' }], 2)),
      (err: unknown) => err instanceof ConfigError && err.code === 'SG_ERR_ENDPOINTS' && err.field.includes('pod-1') && err.message.includes('no-port-here'),
    );
    for (let i = 0; i < 5; i++) assert.equal((await send(client, '/')).text, 'pod-0');
    await assertNoInflight(h);
  } finally {
    await client.close();
    await h.stop();
  }
});

/** Records, for every connection the backend gets, whether the proxy closed it first (its FIN came in). */
function whoCloses(backend: Backend): { proxyClosed: number; podClosed: number } {
  const tally = { proxyClosed: 0, podClosed: 0 };
  backend.server.on('connection', (socket: Socket) => {
    let finFromProxy = false;
    socket.on('end', () => (finFromProxy = true));
    socket.on('close', () => (finFromProxy ? tally.proxyClosed++ : tally.podClosed++));
  });
  return tally;
}

test('upstreamIdleMs: the proxy closes an idle pod connection itself, before a pod that keeps it longer', async () => {
  const backend = await startBackend('pod-0');
  // No Keep-Alive header, no timeout of its own: only the proxy's setting ends the connection.
  backend.server.keepAliveTimeout = 0;
  const closes = whoCloses(backend);
  const h = await startProxy({ backends: [backend], keySource: null, timeouts: { upstreamIdleMs: 200 } });
  try {
    assert.equal((await send(oneConnection(h), '/')).status, 200);
    await waitFor(() => closes.proxyClosed === 1, 'the proxy to close its idle connection', 2_000);
    assert.equal(closes.podClosed, 0);
  } finally {
    await h.stop();
  }
});

test('a pod\'s Keep-Alive: timeout=N shortens the proxy\'s idle time below it: the proxy, not the pod, closes', async () => {
  const backend = await startBackend('pod-0');
  // Node announces `Keep-Alive: timeout=3`; the proxy keeps the connection 3 - 2 = 1 s at most,
  // though its own setting would keep it a minute.
  backend.server.keepAliveTimeout = 3_000;
  const closes = whoCloses(backend);
  const h = await startProxy({ backends: [backend], keySource: null, timeouts: { upstreamIdleMs: 60_000 } });
  try {
    assert.equal((await send(oneConnection(h), '/')).status, 200);
    await waitFor(() => closes.proxyClosed + closes.podClosed === 1, 'the idle connection to close', 5_000);
    assert.deepEqual(closes, { proxyClosed: 1, podClosed: 0 });
  } finally {
    await h.stop();
  }
});

test('SHARDGATE_UPSTREAM_H1 picks the proxy\'s HTTP/1.1 transport: raw by default, undici on request, anything else refused', () => {
  assert.equal(proxyH1Transport({}), 'raw');
  assert.equal(proxyH1Transport({ SHARDGATE_UPSTREAM_H1: 'raw' }), 'raw');
  assert.equal(proxyH1Transport({ SHARDGATE_UPSTREAM_H1: 'undici' }), 'undici');
  assert.throws(
    () => proxyH1Transport({ SHARDGATE_UPSTREAM_H1: 'fast' }),
    (err: unknown) => err instanceof ConfigError && err.field === 'SHARDGATE_UPSTREAM_H1' && err.message.includes('"fast"') && err.message.includes('undici'),
  );
});
