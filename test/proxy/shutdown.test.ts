/**
 * Graceful shutdown: close() stops accepting, lets in-flight requests finish within the grace
 * period, closes idle keep-alive connections, cuts what overstays, and closes the pools.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { test } from 'node:test';
import { startBackend } from '../helpers/backends.js';
import { assertNoInflight, oneConnection, recordExchanges, send, startProxy, waitFor } from './harness.js';

function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/** Resolves with the connect error code, or 'connected'. */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.on('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
  });
}

test('close() lets an in-flight request finish, refuses new connections, then resolves', async () => {
  const arrived = gate();
  const release = gate();
  const backend = await startBackend('slow-0', (req, res) => {
    req.resume();
    arrived.open();
    void release.promise.then(() => res.end('finished'));
  });
  const records = recordExchanges();
  const h = await startProxy({ backends: [backend], keySource: null });
  const client = oneConnection(h);
  try {
    const pending = send(client, '/');
    await arrived.promise;
    let closed = false;
    const closing = h.proxy.close().then(() => (closed = true));
    assert.equal(await tryConnect(h.port), 'ECONNREFUSED', 'no new connections once closing');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(closed, false, 'close() waits for the in-flight request');
    release.open();
    const r = await pending;
    assert.equal(r.status, 200);
    assert.equal(r.text, 'finished');
    assert.equal(r.headers.connection, 'close', 'the response asks the client to go');
    await closing;
    await assertNoInflight(h);
    assert.deepEqual(records.events.map((e) => e.outcome), ['ok']);
  } finally {
    records.stop();
    await client.close();
    await h.stop();
  }
});

test('close() closes idle keep-alive client connections at once', async () => {
  const h = await startProxy({ backends: [await startBackend('pod-0')], keySource: null });
  const client = oneConnection(h);
  try {
    assert.equal((await send(client, '/')).status, 200);
    const disconnected = once(client, 'disconnect');
    const t0 = Date.now();
    await h.proxy.close();
    await disconnected;
    // Not after the 10 s grace period (a generous bound below it, for a loaded machine).
    assert.ok(Date.now() - t0 < 5_000);
    await assertNoInflight(h);
  } finally {
    await client.close();
    await h.stop();
  }
});

test('close() cuts requests that outlast shutdownGraceMs, and their picks end as cancelled', async () => {
  const podClosed = gate();
  const backend = await startBackend('stuck-0', (req, res) => {
    req.resume();
    res.on('close', podClosed.open);
  });
  const records = recordExchanges();
  const h = await startProxy({ backends: [backend], keySource: null, timeouts: { shutdownGraceMs: 200 } });
  const client = oneConnection(h);
  try {
    const pending = assert.rejects(send(client, '/'));
    await waitFor(() => backend.requests === 1, 'the request to reach the pod');
    const t0 = Date.now();
    await h.proxy.close();
    const elapsed = Date.now() - t0;
    assert.ok(elapsed >= 150 && elapsed < 2_000, `close took ${elapsed} ms`);
    await pending;
    await podClosed.promise;
    await assertNoInflight(h);
    assert.deepEqual(records.events.map((e) => e.outcome), ['cancelled']);
  } finally {
    records.stop();
    await client.destroy();
    await h.stop();
  }
});
