/**
 * Pipelined requests on one client connection: Node answers them in order, queueing the response
 * of each behind the one before. The proxy forwards one at a time per connection, and cleans up
 * the queued ones when the client goes away.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startBackend } from '../helpers/backends.js';
import { rawConnect } from '../helpers/raw-http.js';
import { assertNoInflight, recordExchanges, startProxy, waitFor } from './harness.js';

/** A promise and its resolver. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

test('a client that drops a pipelined connection: every pick ends and close() does not wait for the grace period', async () => {
  const arrived = gate();
  const release = gate();
  let podClosed = 0;
  const backend = await startBackend('pipe-0', (req, res) => {
    req.resume();
    res.on('close', () => podClosed++);
    arrived.open();
    // Neither request is answered while the client is there.
    void release.promise.then(() => res.end('late'));
  });
  const records = recordExchanges();
  const h = await startProxy({ backends: [backend], keySource: null, timeouts: { shutdownGraceMs: 5_000 } });
  try {
    const conn = await rawConnect(h.port);
    conn.socket.write('GET /slow HTTP/1.1\r\nHost: a\r\n\r\nGET /second HTTP/1.1\r\nHost: a\r\n\r\n');
    // Both heads were in one packet: the proxy has parsed both by the time the first reaches the pod.
    await arrived.promise;
    conn.socket.destroy();
    await conn.closed;
    await assertNoInflight(h);
    await waitFor(() => podClosed === backend.requests, 'the pod requests to be aborted');
    const t0 = Date.now();
    await h.proxy.close();
    const elapsed = Date.now() - t0;
    assert.ok(elapsed < 1_000, `close() took ${elapsed} ms: a queued response was never counted as closed`);
    assert.ok(records.events.every((e) => e.outcome === 'cancelled'), JSON.stringify(records.events));
  } finally {
    release.open();
    records.stop();
    await h.stop();
  }
});

test('a pod that answers before the upload is complete: the response says Connection: close and the connection closes', async () => {
  const backend = await startBackend('early-0', (_req, res) => {
    // 413 without reading the body, as pods with a size limit do.
    res.writeHead(413, { 'content-type': 'text/plain' });
    res.end('too big');
  });
  const records = recordExchanges();
  const h = await startProxy({ backends: [backend], keySource: null });
  try {
    const conn = await rawConnect(h.port);
    conn.socket.write(`POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: ${2 * 1024 * 1024}\r\n\r\n`);
    conn.socket.write(Buffer.alloc(64 * 1024, 97));
    await conn.until('too big');
    const head = conn.text().slice(0, conn.text().indexOf('\r\n\r\n'));
    assert.match(head, /^HTTP\/1\.1 413 /);
    assert.match(head, /\r\nconnection: close\r\n/i, `the client must not wait to reuse the connection: ${JSON.stringify(head)}`);
    // The proxy closes it instead of reading the rest of an upload nobody wants.
    await conn.closed;
    await assertNoInflight(h);
    assert.equal(backend.requests, 1);
    assert.deepEqual(records.events.map((e) => [e.outcome, e.status]), [['ok', 413]]);
  } finally {
    records.stop();
    await h.stop();
  }
});

test('50 requests pipelined in one packet reach the pod one at a time and are answered in order', async () => {
  const first = gate();
  const release = gate();
  let concurrent = 0;
  let peak = 0;
  const backend = await startBackend('many-0', (req, res) => {
    req.resume();
    concurrent++;
    peak = Math.max(peak, concurrent);
    res.on('close', () => concurrent--);
    const answer = (): void => {
      res.end(`<${req.url ?? ''}>`);
    };
    if (req.url === '/0') {
      first.open();
      void release.promise.then(answer);
    } else {
      answer();
    }
  });
  const h = await startProxy({ backends: [backend], keySource: null });
  try {
    const conn = await rawConnect(h.port);
    const n = 50;
    let heads = '';
    for (let i = 0; i < n; i++) heads += `GET /${i} HTTP/1.1\r\nHost: a\r\n\r\n`;
    conn.socket.write(heads);
    await first.promise;
    // The proxy parsed all 50 heads before the first could reach the pod; only that one is out.
    assert.equal(h.board.totalInflight, 1, 'one client connection has one request at a pod at a time');
    assert.equal(backend.requests, 1);
    release.open();
    await conn.until(`</${n - 1}>`);
    const bodies = conn.text().match(/<\/\d+>/g) ?? [];
    assert.deepEqual(bodies, Array.from({ length: n }, (_, i) => `</${i}>`), 'answered in order');
    assert.equal(peak, 1, `the pod saw ${peak} concurrent requests from one client connection`);
    assert.equal(backend.requests, n);
    conn.socket.destroy();
    await conn.closed;
    await assertNoInflight(h);
  } finally {
    release.open();
    await h.stop();
  }
});

test('a pipelined upload abandoned by its client ends as cancelled, not as a reset against a healthy pod', async () => {
  const firstArrived = gate();
  const releaseFirst = gate();
  const uploading = gate();
  let podClosed = 0;
  const backend = await startBackend('upl-0', (req, res) => {
    res.on('close', () => podClosed++);
    if (req.url === '/first') {
      req.resume();
      firstArrived.open();
      void releaseFirst.promise.then(() => res.end('first'));
      return;
    }
    req.on('data', uploading.open);
  });
  const records = recordExchanges();
  const h = await startProxy({ backends: [backend], keySource: null });
  try {
    const conn = await rawConnect(h.port);
    conn.socket.write('GET /first HTTP/1.1\r\nHost: a\r\n\r\nPOST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000\r\n\r\n');
    conn.socket.write(Buffer.alloc(32 * 1024, 97));
    await firstArrived.promise;
    releaseFirst.open();
    await conn.until('first');
    // The upload is forwarded once the first response is done; the client leaves mid-body.
    await uploading.promise;
    conn.socket.destroy();
    await assertNoInflight(h);
    await waitFor(() => records.events.length === 2 && podClosed === 2, 'both picks to end and the pod requests to close');
    assert.deepEqual(records.events.map((e) => e.outcome), ['ok', 'cancelled']);
  } finally {
    releaseFirst.open();
    records.stop();
    await h.stop();
  }
});

test('a bad request pipelined behind one still queued: both good ones are answered, then the connection closes', { timeout: 10_000 }, async () => {
  const backend = await startBackend('queue-0', (req, res) => {
    req.resume();
    res.end(`<${req.url ?? ''}>`);
  });
  const h = await startProxy({ backends: [backend], keySource: null });
  try {
    const conn = await rawConnect(h.port);
    conn.socket.write('GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\nNOT HTTP\r\n\r\n');
    await conn.closed;
    const text = conn.text();
    assert.deepEqual(text.match(/<\/[ab]>|HTTP\/1\.1 \d{3}/g), ['HTTP/1.1 200', '</a>', 'HTTP/1.1 200', '</b>'], JSON.stringify(text));
    await assertNoInflight(h);
  } finally {
    await h.stop();
  }
});
