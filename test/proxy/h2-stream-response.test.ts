/**
 * Responses to HTTP/2 clients written straight to their streams (src/proxy/h2-stream-response.ts):
 * a pod's trailers relayed, the responses that end without asking for trailers, bodiless
 * responses, and repeated fields.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startBackends } from '../helpers/backends.js';
import { closeH2Backends, h2EndpointSpecs, startH2Backends } from '../helpers/h2-backends.js';
import { closeSession, connectH2, requestH2 } from '../helpers/h2-client.js';
import { assertNoInflight, startProxy } from './harness.js';

test('an HTTP/1.1 pod\'s chunked response reaches the HTTP/2 client with its trailers, declared or not', { timeout: 10_000 }, async () => {
  const backends = await startBackends(1, 'pod', (req, res) => {
    req.resume();
    res.writeHead(200, req.url === '/declared' ? { 'content-type': 'text/plain', trailer: 'x-checksum' } : { 'content-type': 'text/plain' });
    res.write('part one, ');
    res.addTrailers({ 'x-checksum': `sum-of${req.url}` });
    res.end('part two');
  });
  const h = await startProxy({ backends, algorithm: 'round-robin', keySource: null });
  const session = await connectH2(h.origin);
  try {
    for (const path of ['/declared', '/undeclared']) {
      const a = await requestH2(session, { ':path': path });
      assert.equal(a.status, 200);
      assert.equal(a.body.toString(), 'part one, part two');
      assert.equal(a.trailers?.['x-checksum'], `sum-of${path}`, path);
    }
    await assertNoInflight(h);
  } finally {
    await closeSession(session);
    await h.stop();
  }
});

test('an h2c pod\'s trailers after a declared length: relayed when declared or asked for (TE: trailers), dropped otherwise', { timeout: 10_000 }, async () => {
  const backends = await startH2Backends(1, {
    handler: (stream, headers) => {
      const declared = headers[':path'] === '/declared';
      stream.respond({ ':status': 200, 'content-length': '4', ...(declared ? { trailer: 'x-sum' } : {}) }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'x-sum': 'abcd' }));
      stream.end('abcd');
    },
  });
  const h = await startProxy({ endpoints: h2EndpointSpecs(backends), algorithm: 'round-robin', keySource: null });
  const session = await connectH2(h.origin);
  try {
    const declared = await requestH2(session, { ':path': '/declared' });
    const asked = await requestH2(session, { ':path': '/asked', te: 'trailers' });
    const neither = await requestH2(session, { ':path': '/neither' });
    for (const a of [declared, asked, neither]) assert.equal(a.body.toString(), 'abcd');
    assert.equal(declared.trailers?.['x-sum'], 'abcd');
    assert.equal(asked.trailers?.['x-sum'], 'abcd');
    // The pod framed its body by length and said nothing of trailers: the response ends with its body.
    assert.equal(neither.trailers, null);
    await assertNoInflight(h);
  } finally {
    await closeSession(session);
    await h.stop();
    await closeH2Backends(backends);
  }
});

test('HEAD, 204 and 304 over HTTP/2: the pod\'s head and no body', { timeout: 10_000 }, async () => {
  const backends = await startBackends(1, 'pod', (req, res) => {
    req.resume();
    if (req.url === '/none') res.writeHead(204, { 'x-kind': 'none' }).end();
    else if (req.url === '/same') res.writeHead(304, { etag: '"v1"' }).end();
    else res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '11' }).end(req.method === 'HEAD' ? undefined : 'hello world');
  });
  const h = await startProxy({ backends, algorithm: 'round-robin', keySource: null });
  const session = await connectH2(h.origin);
  try {
    const head = await requestH2(session, { ':method': 'HEAD', ':path': '/doc' });
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], '11');
    assert.equal(head.body.length, 0);
    const none = await requestH2(session, { ':path': '/none' });
    assert.deepEqual([none.status, none.headers['x-kind'], none.body.length], [204, 'none', 0]);
    const same = await requestH2(session, { ':path': '/same' });
    assert.deepEqual([same.status, same.headers.etag, same.body.length], [304, '"v1"', 0]);
    const get = await requestH2(session, { ':path': '/doc' });
    assert.equal(get.body.toString(), 'hello world');
    await assertNoInflight(h);
  } finally {
    await closeSession(session);
    await h.stop();
  }
});

test('a field the pod sends that the proxy adds too keeps both values; set-cookie lines stay apart', { timeout: 10_000 }, async () => {
  const backends = await startBackends(1, 'pod', (req, res) => {
    req.resume();
    res.setHeader('x-shardgate-endpoint', 'what-the-pod-said');
    res.setHeader('set-cookie', ['a=1', 'b=2']);
    res.end('ok');
  });
  const h = await startProxy({ backends, algorithm: 'round-robin', keySource: null, endpointHeader: true });
  const session = await connectH2(h.origin);
  try {
    const a = await requestH2(session, { ':path': '/' });
    assert.equal(a.status, 200);
    assert.equal(a.headers['x-shardgate-endpoint'], 'what-the-pod-said, pod-0');
    assert.deepEqual(a.headers['set-cookie'], ['a=1', 'b=2']);
  } finally {
    await closeSession(session);
    await h.stop();
  }
});

test('a response the pod cuts short never looks complete: the stream is reset with INTERNAL_ERROR', { timeout: 10_000 }, async () => {
  const backends = await startBackends(1, 'pod', (req, res) => {
    req.resume();
    if (req.url !== '/cut') {
      res.end('whole');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('first half');
    setTimeout(() => res.socket?.destroy(), 20);
  });
  const h = await startProxy({ backends, algorithm: 'round-robin', keySource: null });
  const session = await connectH2(h.origin);
  try {
    const failure = await requestH2(session, { ':path': '/cut' }).then(
      (a) => `completed with ${JSON.stringify(a.body.toString())}`,
      (err: unknown) => err,
    );
    assert.ok(failure instanceof Error, String(failure));
    assert.match(failure.message, /NGHTTP2_INTERNAL_ERROR/);
    // The session serves on.
    assert.equal((await requestH2(session, { ':path': '/next' })).status, 200);
    await assertNoInflight(h);
  } finally {
    await closeSession(session);
    await h.stop();
  }
});
