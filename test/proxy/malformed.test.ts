/**
 * Bad input over raw sockets: every malformed request gets a status and a JSON body rather than a
 * dropped connection (where Node lets the proxy answer), slow heads time out, and none of it
 * disturbs anyone else.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { test } from 'node:test';
import { startBackend, startBackends } from '../helpers/backends.js';
import { headerOf, jsonBodyOf, rawConnect, rawExchange, statusOf } from '../helpers/raw-http.js';
import { assertNoInflight, oneConnection, recordExchanges, send, startProxy, waitFor, watchedLogger } from './harness.js';

/** A promise and its resolver. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

interface ErrorBody {
  error: string;
  code: string;
}

function expectReply(text: string, status: number, code: string): void {
  assert.equal(statusOf(text), status, `expected ${status}, got: ${JSON.stringify(text.slice(0, 120))}`);
  assert.equal(headerOf(text, 'content-type'), 'application/json');
  assert.equal((jsonBodyOf(text) as ErrorBody).code, code);
}

test('400 for garbage, for Content-Length with Transfer-Encoding, and for bad framing', async () => {
  const backends = await startBackends(1);
  const h = await startProxy({ backends, keySource: null });
  try {
    const cases: [string, string][] = [
      ['garbage', 'HELLO WORLD\r\n\r\n'],
      ['CL + TE', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'],
      ['two Content-Lengths', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx'],
      ['space in a field name', 'GET / HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n'],
      ['control character in a value', 'GET / HTTP/1.1\r\nHost: a\r\nX: a\x01b\r\n\r\n'],
      ['bare LF line ends', 'GET / HTTP/1.1\nHost: a\n\n'],
      ['bad version', 'GET / HTTP/9.x\r\nHost: a\r\n\r\n'],
    ];
    for (const [what, raw] of cases) {
      const r = await rawExchange(h.port, raw);
      expectReply(r.text, 400, 'SG_ERR_BAD_REQUEST');
      assert.equal(headerOf(r.text, 'connection'), 'close', what);
      assert.ok(r.closedByServer, `${what}: the proxy closes the connection`);
    }
    assert.equal(backends[0]!.requests, 0, 'nothing malformed reached the pod');
    await assertNoInflight(h);
  } finally {
    await h.stop();
  }
});

test('501 for a request transfer coding other than chunked (RFC 9112 section 6.1), which would be forwarded decoded wrong', async () => {
  const backends = await startBackends(1);
  const h = await startProxy({ backends, keySource: null });
  try {
    for (const coding of ['gzip, chunked', 'deflate,chunked', 'x-custom, chunked']) {
      const r = await rawExchange(h.port, `POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ${coding}\r\n\r\n4\r\nGZIP\r\n0\r\n\r\n`);
      expectReply(r.text, 501, 'SG_ERR_TRANSFER_CODING');
      assert.equal(headerOf(r.text, 'connection'), 'close', coding);
      assert.ok(r.closedByServer, `${coding}: the proxy closes the connection`);
    }
    // RFC 9112 section 6.3: a request whose final coding is not chunked has no knowable length.
    const unframed = await rawExchange(h.port, 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\nabc');
    expectReply(unframed.text, 400, 'SG_ERR_BAD_REQUEST');
    assert.ok(unframed.closedByServer);
    assert.equal(backends[0]!.requests, 0, 'nothing reached the pod');
    // Plain chunked, in any case, is forwarded.
    const ok = await rawExchange(h.port, 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\nConnection: close\r\n\r\n4\r\nbody\r\n0\r\n\r\n');
    assert.equal(statusOf(ok.text), 200);
    assert.equal(backends[0]!.requests, 1);
    await assertNoInflight(h);
  } finally {
    await h.stop();
  }
});

test('400 for a missing or repeated Host (RFC 9112 section 3.2); HTTP/1.0 needs none', async () => {
  const backends = await startBackends(1);
  const h = await startProxy({ backends, keySource: null });
  try {
    const missing = await rawExchange(h.port, 'GET / HTTP/1.1\r\n\r\n');
    expectReply(missing.text, 400, 'SG_ERR_BAD_REQUEST');
    assert.ok(missing.closedByServer, 'a malformed request ends its connection');
    const twice = await rawExchange(h.port, 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n');
    expectReply(twice.text, 400, 'SG_ERR_BAD_REQUEST');
    assert.match((jsonBodyOf(twice.text) as ErrorBody).error, /Host/);
    const old = await rawExchange(h.port, 'GET / HTTP/1.0\r\n\r\n');
    assert.equal(statusOf(old.text), 200);
    assert.equal(backends[0]!.requests, 1);
    await assertNoInflight(h);
  } finally {
    await h.stop();
  }
});

test('400 for a Host that is not host[:port] (a space, a path, user info), in the Host line or an absolute-form target; nothing forwarded', async () => {
  const backends = await startBackends(1);
  const h = await startProxy({ backends, keySource: null });
  try {
    for (const head of ['GET / HTTP/1.1\r\nHost: a b\r\n\r\n', 'GET / HTTP/1.1\r\nHost: evil.com/@a\r\n\r\n', 'GET / HTTP/1.1\r\nHost: user@a\r\n\r\n', 'GET http://a b/x HTTP/1.1\r\nHost: a\r\n\r\n']) {
      const r = await rawExchange(h.port, head);
      expectReply(r.text, 400, 'SG_ERR_BAD_REQUEST');
    }
    // Over HTTP/2 nghttp2 itself resets a stream whose :authority is not host[:port].
    const session = http2.connect(h.origin);
    session.on('error', () => undefined);
    for (const authority of ['a b', 'evil.com/@a']) {
      const stream = session.request({ ':path': '/', ':authority': authority }, { endStream: true });
      stream.on('error', () => undefined);
      await new Promise((resolve) => stream.once('close', resolve));
    }
    session.destroy();
    assert.equal(backends[0]!.requests, 0, 'none of them reached a pod');
    const fine = await rawExchange(h.port, 'GET / HTTP/1.1\r\nHost: [::1]:8080\r\nConnection: close\r\n\r\n');
    assert.equal(statusOf(fine.text), 200);
    assert.equal(backends[0]!.lastHeaders?.['x-forwarded-host'], '[::1]:8080');
  } finally {
    await h.stop();
  }
});

test('501 for a method the proxy does not know, over HTTP/1.1 and HTTP/2 alike; garbage is still 400', async () => {
  const backends = await startBackends(1);
  const h = await startProxy({ backends, keySource: null });
  const session = http2.connect(h.origin);
  session.on('error', () => undefined);
  try {
    expectReply((await rawExchange(h.port, 'FOO / HTTP/1.1\r\nHost: a\r\n\r\n')).text, 501, 'SG_ERR_UNKNOWN_METHOD');
    expectReply((await rawExchange(h.port, '\x00\x01 / HTTP/1.1\r\n\r\n')).text, 400, 'SG_ERR_BAD_REQUEST');
    const stream = session.request({ ':method': 'FOO', ':path': '/' }, { endStream: true });
    const status = await new Promise<number>((resolve) => stream.once('response', (headers) => resolve(Number(headers[':status']))));
    stream.resume();
    assert.equal(status, 501);
    assert.equal(backends[0]!.requests, 0);
    // A method Node knows, other than the usual ones, is forwarded over both.
    assert.equal(statusOf((await rawExchange(h.port, 'PURGE / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')).text), 200);
    const purge = session.request({ ':method': 'PURGE', ':path': '/' }, { endStream: true });
    assert.equal(await new Promise<number>((resolve) => purge.once('response', (headers) => resolve(Number(headers[':status'])))), 200);
    purge.resume();
  } finally {
    session.destroy();
    await h.stop();
  }
});

test('OPTIONS * is answered by the proxy (200, no content), over HTTP/1.1 and HTTP/2; another method with * is 400', async () => {
  const backends = await startBackends(1);
  const h = await startProxy({ backends, keySource: null });
  const session = http2.connect(h.origin);
  session.on('error', () => undefined);
  try {
    const r = await rawExchange(h.port, 'OPTIONS * HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    assert.equal(statusOf(r.text), 200);
    assert.equal(headerOf(r.text, 'content-length'), '0');
    const stream = session.request({ ':method': 'OPTIONS', ':path': '*' }, { endStream: true });
    assert.equal(await new Promise<number>((resolve) => stream.once('response', (headers) => resolve(Number(headers[':status'])))), 200);
    stream.resume();
    expectReply((await rawExchange(h.port, 'GET * HTTP/1.1\r\nHost: a\r\n\r\n')).text, 400, 'SG_ERR_BAD_REQUEST');
    assert.equal(backends[0]!.requests, 0);
  } finally {
    session.destroy();
    await h.stop();
  }
});

test('431 for a head over maxHeaderBytes', async () => {
  const backends = await startBackends(1);
  const h = await startProxy({ backends, keySource: null });
  try {
    const r = await rawExchange(h.port, `GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expectReply(r.text, 431, 'SG_ERR_HEADERS_TOO_LARGE');
    const small = await startProxy({ backends: [], maxHeaderBytes: 2048 });
    try {
      const r2 = await rawExchange(small.port, `GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${'a'.repeat(3_000)}\r\n\r\n`);
      expectReply(r2.text, 431, 'SG_ERR_HEADERS_TOO_LARGE');
    } finally {
      await small.stop();
    }
    await assertNoInflight(h);
  } finally {
    await h.stop();
  }
});

test('408 for a head that trickles in slower than clientHeadersMs (slowloris)', async () => {
  const h = await startProxy({ backends: await startBackends(1), keySource: null, timeouts: { clientHeadersMs: 300 } });
  try {
    const t0 = Date.now();
    const parts = ['GET / HTTP/1.1\r\n', 'Host: a\r\n', ...Array.from({ length: 40 }, (_, i) => `X-Slow-${i}: y\r\n`)];
    const r = await rawExchange(h.port, parts, { gapMs: 50, timeoutMs: 3_000 });
    expectReply(r.text, 408, 'SG_ERR_REQUEST_TIMEOUT');
    const elapsed = Date.now() - t0;
    assert.ok(elapsed < 1_500, `cut after ${elapsed} ms`);
    assert.equal(h.backends[0]!.requests, 0);
  } finally {
    await h.stop();
  }
});

test('an idle keep-alive client connection is closed after clientIdleMs', async () => {
  const h = await startProxy({ backends: await startBackends(1), keySource: null, timeouts: { clientIdleMs: 200 } });
  try {
    const t0 = Date.now();
    const r = await rawExchange(h.port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n', { timeoutMs: 3_000 });
    assert.equal(statusOf(r.text), 200);
    assert.ok(r.closedByServer);
    const elapsed = Date.now() - t0;
    assert.ok(elapsed >= 150 && elapsed < 2_000, `closed after ${elapsed} ms`);
  } finally {
    await h.stop();
  }
});

test('405 for CONNECT', async () => {
  const h = await startProxy({ backends: await startBackends(1), keySource: null });
  try {
    const r = await rawExchange(h.port, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
    expectReply(r.text, 405, 'SG_ERR_METHOD');
  } finally {
    await h.stop();
  }
});

test('an absolute-form target is routed by its path', async () => {
  let seenUrl = '';
  const backend = await startBackend('abs-0', (req, res) => {
    seenUrl = req.url ?? '';
    res.end('abs-0');
  });
  const h = await startProxy({ backends: [backend], keySource: 'path:1' });
  try {
    const r = await rawExchange(h.port, 'GET http://shop.example/accounts/k1/orders?x=1 HTTP/1.1\r\nHost: shop.example\r\nConnection: close\r\n\r\n');
    assert.equal(statusOf(r.text), 200);
    assert.equal(seenUrl, '/accounts/k1/orders?x=1');
    const authorityForm = await rawExchange(h.port, 'GET shop.example:443 HTTP/1.1\r\nHost: a\r\n\r\n');
    expectReply(authorityForm.text, 400, 'SG_ERR_BAD_REQUEST');
    await assertNoInflight(h);
  } finally {
    await h.stop();
  }
});

test('a body that breaks its framing mid-request is answered 400, and the pod request is cancelled', async () => {
  const podClosed = { count: 0 };
  const backend = await startBackend('chunk-0', (req, res) => {
    req.resume();
    res.on('close', () => podClosed.count++);
  });
  const records = recordExchanges();
  const h = await startProxy({ backends: [backend], keySource: null });
  try {
    const cases = [
      ['POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n', 'zz\r\n'],
      ['POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n', 'not-hex\r\n'],
    ];
    for (const parts of cases) {
      const r = await rawExchange(h.port, parts, { gapMs: 100 });
      expectReply(r.text, 400, 'SG_ERR_BAD_REQUEST');
      assert.ok(r.closedByServer);
    }
    await assertNoInflight(h);
    await waitFor(() => records.events.length === cases.length, 'the picks to end');
    assert.deepEqual(records.events.map((e) => e.outcome), ['cancelled', 'cancelled']);
    // The pod's half-sent requests were aborted, not left hanging.
    await waitFor(() => podClosed.count === backend.requests, 'the pod requests to close');
  } finally {
    records.stop();
    await h.stop();
  }
});

// The timeout turns a connection left open (the regression) into a failure rather than a hang.
test('a bad request pipelined behind a good one: the good one is served, then the connection closes', { timeout: 10_000 }, async () => {
  let arrived = gate();
  let release = gate();
  const backend = await startBackend('pipe-0', (req, res) => {
    req.resume();
    arrived.open();
    if (req.url === '/late-head') {
      void release.promise.then(() => res.end('late head'));
    } else {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('early head, ');
      void release.promise.then(() => res.end('late body'));
    }
  });
  const records = recordExchanges();
  const watch = watchedLogger();
  const h = await startProxy({ backends: [backend], keySource: null, logger: watch.logger });
  try {
    // The bad bytes arrive while the good response is under way: before its head (closeAfter
    // marks the exchange) and after it (the connection ends on 'finish').
    for (const [path, body] of [['/late-head', 'late head'], ['/early-head', 'late body']] as const) {
      arrived = gate();
      release = gate();
      const conn = await rawConnect(h.port);
      conn.socket.write(`GET ${path} HTTP/1.1\r\nHost: a\r\n\r\n`);
      await arrived.promise;
      if (path === '/early-head') await conn.until('early head, ');
      const refused = watch.next('malformed request');
      conn.socket.write('NOT HTTP\r\n\r\n');
      await refused;
      release.open();
      await conn.closed;
      const text = conn.text();
      assert.equal(statusOf(text), 200, path);
      assert.ok(text.includes(body), `${path}: ${JSON.stringify(text)}`);
      assert.ok(!text.includes('HTTP/1.1 400'), `${path}: nothing but the good response: ${JSON.stringify(text)}`);
      if (path === '/late-head') assert.equal(headerOf(text, 'connection'), 'close', 'the head, still unsent, says so');
    }
    await assertNoInflight(h);
    assert.deepEqual(records.events.map((e) => e.outcome), ['ok', 'ok']);
  } finally {
    release.open();
    records.stop();
    await h.stop();
  }
});

test('the proxy survives a batch of garbage and keeps serving everyone else', async () => {
  const backends = await startBackends(2);
  const h = await startProxy({ backends, keySource: 'cookie:sid' });
  const client = oneConnection(h);
  try {
    const before = await send(client, '/', { headers: { cookie: 'sid=abc' } });
    assert.equal(before.status, 200);
    // [bytes, the status of the first response]; 0: no response (the proxy waits for the rest).
    const garbage: [string, number][] = [
      ['\x00\x01\x02\x03\r\n\r\n', 400],
      ['GET\r\n\r\n', 400],
      ['GET / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n', 400],
      ['GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n', 400],
      ['POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n', 400],
      ['GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n', 400],
      [`GET /${'a'.repeat(70_000)} HTTP/1.1\r\nHost: a\r\n\r\n`, 431],
      // Junk in the key's cookie is no key: the keyless fallback serves it.
      ['GET / HTTP/1.1\r\nHost: a\r\nCookie: sid\r\nCookie: ;;;=;sid=%zz%\r\n\r\n', 200],
      ['GET /accounts/%E0%A4%A HTTP/1.1\r\nHost: a\r\nCookie: sid="unterminated\r\n\r\n', 200],
      ['GET / HTTP/1.1\r\nHost: a\r\nConnection: x-a, , ,x-b\r\nX-A: 1\r\n\r\n', 200],
      // No body to invite: no 100 Continue (RFC 9110 section 10.1.1), the pod's 200 straight away.
      ['GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n', 200],
      // A WebSocket Upgrade goes to the pod, which (a plain HTTP server) answers it as a GET.
      ['GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n', 200],
      // More fields than maxHeaderCount (100).
      ['GET / HTTP/1.1\r\n' + 'X: y\r\n'.repeat(3000) + '\r\n', 431],
      // The good request is answered, then the connection closes.
      ['GET / HTTP/1.1\r\nHost: a\r\n\r\nGARBAGE AFTER A GOOD REQUEST\r\n\r\n', 200],
      ['POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nshort', 0],
    ];
    const results = await Promise.all(garbage.map(([g]) => rawExchange(h.port, g, { timeoutMs: 1_000 })));
    for (const [i, r] of results.entries()) {
      const want = garbage[i]![1];
      assert.equal(statusOf(r.text), want, `case ${i}: ${JSON.stringify(r.text.slice(0, 80))}`);
      if (want >= 400) assert.ok(r.closedByServer, `case ${i}: a refused request closes its connection`);
    }
    // The keep-alive client from before is still served, and so is a new one.
    const after = await send(client, '/', { headers: { cookie: 'sid=abc' } });
    assert.equal(after.status, 200);
    assert.equal(after.text, before.text, 'the same key still reaches the same pod');
    const fresh = await rawExchange(h.port, 'GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    assert.equal(statusOf(fresh.text), 200);
    await assertNoInflight(h);
  } finally {
    await client.close();
    await h.stop();
  }
});
