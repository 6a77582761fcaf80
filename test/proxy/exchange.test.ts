/**
 * One request's journey through the proxy: bodies streamed both ways (never buffered whole),
 * back-pressure, trailers, and every upstream failure mapped to its status, JSON body and
 * outcome, with in-flight back to zero after each.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { test } from 'node:test';
import { PassThrough } from 'node:stream';
import { pino } from 'pino';
import type { Dispatcher } from 'undici';
import { seededRng } from '../../src/balancer/rng.js';
import type { Balancer } from '../../src/balancer/balancer.js';
import { Exchange } from '../../src/proxy/exchange.js';
import { H2Upstream } from '../../src/proxy/h2-upstream.js';
import type { ProxyResponse } from '../../src/proxy/exchange.js';
import { closedPort, startBackend } from '../helpers/backends.js';
import type { Backend } from '../helpers/backends.js';
import { assertNoInflight, oneConnection, recordExchanges, send, startProxy, waitFor } from './harness.js';

/** `size` deterministic pseudo-random bytes. */
function bytes(size: number, seed: number): Buffer {
  const rng = seededRng(seed);
  const buf = Buffer.alloc(size);
  for (let i = 0; i + 4 <= size; i += 4) buf.writeUInt32LE(rng.nextUint32(), i);
  return buf;
}

function echo(req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/octet-stream' });
  req.pipe(res);
}

/** A promise and its resolver. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

test('a large request body is streamed to the pod and echoed back byte for byte', async () => {
  const backend = await startBackend('echo-0', echo);
  const h = await startProxy({ backends: [backend], keySource: null });
  const client = oneConnection(h);
  try {
    const body = bytes(8 * 1024 * 1024 + 3, 11);
    const r = await client.request({ method: 'POST', path: '/echo', body });
    assert.equal(r.statusCode, 200);
    const back = Buffer.from(await r.body.arrayBuffer());
    assert.equal(back.length, body.length);
    assert.ok(back.equals(body), 'echoed bytes differ');

    // Chunked upload (no Content-Length) too.
    const stream = new PassThrough();
    const pending = client.request({ method: 'PUT', path: '/echo', body: stream });
    const part = bytes(300_000, 12);
    stream.write(part.subarray(0, 100_000));
    stream.end(part.subarray(100_000));
    const r2 = await pending;
    assert.ok(Buffer.from(await r2.body.arrayBuffer()).equals(part));
    await assertNoInflight(h);
  } finally {
    await client.close();
    await h.stop();
  }
});

test('the request body reaches the pod before the client has finished sending it', async () => {
  const firstChunk = gate();
  const backend = await startBackend('up-0', (req, res) => {
    let total = 0;
    req.on('data', (d: Buffer) => {
      total += d.length;
      firstChunk.open();
    });
    req.on('end', () => res.end(String(total)));
  });
  const h = await startProxy({ backends: [backend], keySource: null });
  const client = oneConnection(h);
  try {
    const stream = new PassThrough();
    const pending = client.request({ method: 'POST', path: '/upload', body: stream });
    stream.write('first part;');
    // If the proxy buffered the body, the pod would see nothing until end() and this would hang.
    await firstChunk.promise;
    stream.end('second part');
    const r = await pending;
    assert.equal(await r.body.text(), String('first part;second part'.length));
    await assertNoInflight(h);
  } finally {
    await client.close();
    await h.stop();
  }
});

test('a slow streaming response reaches the client in pieces, before the pod ends it', async () => {
  const release = gate();
  let podEnded = false;
  const backend = await startBackend('slow-0', (req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('first\n');
    void release.promise.then(() => {
      res.write('second\n');
      podEnded = true;
      res.end('third\n');
    });
  });
  const h = await startProxy({ backends: [backend], keySource: null });
  const client = oneConnection(h);
  try {
    const r = await client.request({ method: 'GET', path: '/stream' });
    const it = r.body[Symbol.asyncIterator]();
    const first = (await it.next()).value as Buffer;
    assert.equal(first.toString(), 'first\n');
    assert.equal(podEnded, false, 'the first piece arrived while the pod was still responding');
    release.open();
    let rest = '';
    for (let next = (await it.next()) as IteratorResult<Buffer>; next.done !== true; next = (await it.next()) as IteratorResult<Buffer>) {
      rest += next.value.toString();
    }
    assert.equal(rest, 'second\nthird\n');
    await assertNoInflight(h);
  } finally {
    await client.close();
    await h.stop();
  }
});

test('back-pressure: a client that does not read stalls the pod instead of filling the proxy', async () => {
  const stalled = gate();
  let written = 0;
  const chunk = Buffer.alloc(1024 * 1024, 120);
  const limit = 256 * 1024 * 1024;
  const backend = await startBackend('flood-0', (req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    const pump = (): void => {
      while (written < limit) {
        written += chunk.length;
        if (!res.write(chunk)) {
          // Stalled for 300 ms: the back-pressure reached the pod.
          const timer = setTimeout(stalled.open, 300);
          res.once('drain', () => {
            clearTimeout(timer);
            pump();
          });
          return;
        }
      }
      stalled.open();
    };
    res.on('close', () => stalled.open());
    pump();
  });
  const records = recordExchanges();
  const h = await startProxy({ backends: [backend], keySource: null });
  const client = oneConnection(h);
  try {
    const r = await client.request({ method: 'GET', path: '/flood' });
    // Read nothing.
    await stalled.promise;
    assert.ok(written < 64 * 1024 * 1024, `the pod wrote ${written} bytes to a client that reads nothing`);
    r.body.destroy();
    await client.destroy();
    await assertNoInflight(h);
    await waitFor(() => records.events.length === 1, 'the pick to end');
    assert.equal(records.events[0]!.outcome, 'cancelled');
  } finally {
    records.stop();
    await h.stop();
  }
});

test('HEAD, 204 and trailers pass through', async () => {
  const backend = await startBackend('misc-0', (req, res) => {
    req.resume();
    if (req.method === 'HEAD') {
      res.writeHead(200, { 'content-length': '1234', 'content-type': 'text/plain' });
      res.end();
    } else if (req.url === '/empty') {
      res.writeHead(204);
      res.end();
    } else {
      res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-checksum' });
      res.write('body');
      res.addTrailers({ 'x-checksum': 'abc123' });
      res.end();
    }
  });
  const h = await startProxy({ backends: [backend], keySource: null });
  const client = oneConnection(h);
  try {
    const head = await send(client, '/thing', { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], '1234');
    assert.equal(head.text, '');
    const empty = await send(client, '/empty');
    assert.equal(empty.status, 204);
    const r = await client.request({ method: 'GET', path: '/trailers' });
    assert.equal(await r.body.text(), 'body');
    assert.equal(r.trailers['x-checksum'], 'abc123');
    await assertNoInflight(h);
  } finally {
    await client.close();
    await h.stop();
  }
});

interface ErrorBody {
  error: string;
  code: string;
}

async function expectFailure(backend: Backend | null, deadAddress: string | null, options: { upstreamHeadersMs?: number }, want: { status: number; code: string; outcome: string }): Promise<void> {
  const records = recordExchanges();
  const name = backend?.name ?? 'dead-0';
  const h = await startProxy({
    backends: backend === null ? [] : [backend],
    endpoints: deadAddress === null ? [] : [{ name, address: deadAddress }],
    keySource: null,
    timeouts: options.upstreamHeadersMs === undefined ? {} : { upstreamHeadersMs: options.upstreamHeadersMs },
  });
  const client = oneConnection(h);
  try {
    const r = await send(client, '/fail', { method: 'POST', body: 'payload' });
    assert.equal(r.status, want.status);
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.headers['x-shardgate-endpoint'], name);
    const body = JSON.parse(r.text) as ErrorBody;
    assert.equal(body.code, want.code);
    assert.equal(typeof body.error, 'string');
    await assertNoInflight(h);
    assert.deepEqual(records.events.map((e) => [e.endpoint, e.outcome]), [[name, want.outcome]]);
    assert.equal(h.board.load(name)!.failures, 1);
    // The proxy still serves on the same client connection.
    const again = await send(client, '/fail');
    assert.equal(again.status, want.status);
  } finally {
    records.stop();
    await client.close();
    await h.stop();
  }
}

test('502 when the pod refuses the connection (connect-failed)', async () => {
  const port = await closedPort();
  await expectFailure(null, `127.0.0.1:${port}`, {}, { status: 502, code: 'SG_ERR_UPSTREAM_CONNECT', outcome: 'connect-failed' });
});

test('504 when the pod never answers (timeout)', async () => {
  const silent = await startBackend('silent-0', (req) => req.resume());
  const t0 = Date.now();
  await expectFailure(silent, null, { upstreamHeadersMs: 200 }, { status: 504, code: 'SG_ERR_UPSTREAM_TIMEOUT', outcome: 'timeout' });
  // The default is 30 s: well before it, the 200 ms option must have fired (a generous bound, so
  // that a loaded machine does not fail it).
  assert.ok(Date.now() - t0 < 15_000, 'the timeout option applies');
});

test('502 when the pod resets the connection before answering (reset)', async () => {
  const rude = await startBackend('rude-0', (req) => req.socket.destroy());
  await expectFailure(rude, null, {}, { status: 502, code: 'SG_ERR_UPSTREAM_RESET', outcome: 'reset' });
});

test('502 when the pod answers garbage', async () => {
  const liar = await startBackend('liar-0', (req) => {
    req.resume();
    req.socket.end('NOT HTTP AT ALL\r\n\r\n');
  });
  await expectFailure(liar, null, {}, { status: 502, code: 'SG_ERR_UPSTREAM_PROTOCOL', outcome: 'reset' });
});

test('502 when the pod answers with a transfer coding other than chunked (it would reach the client decoded wrong)', async () => {
  const coder = await startBackend('gzip-0', (req, res) => {
    req.resume();
    // Node frames this as chunked and keeps the header as given.
    res.writeHead(200, { 'content-type': 'text/plain', 'transfer-encoding': 'gzip, chunked' });
    res.end('not really gzip');
  });
  await expectFailure(coder, null, {}, { status: 502, code: 'SG_ERR_UPSTREAM_PROTOCOL', outcome: 'reset' });
});

test('a pod 5xx is forwarded as is and counted as http-5xx', async () => {
  const busy = await startBackend('busy-0', (req, res) => {
    req.resume();
    res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '1' });
    res.end('busy');
  });
  const records = recordExchanges();
  const h = await startProxy({ backends: [busy], keySource: null });
  const client = oneConnection(h);
  try {
    const r = await send(client, '/');
    assert.equal(r.status, 503);
    assert.equal(r.text, 'busy');
    assert.equal(r.headers['retry-after'], '1');
    assert.equal(r.headers['x-shardgate-endpoint'], 'busy-0');
    await assertNoInflight(h);
    assert.deepEqual(records.events.map((e) => [e.outcome, e.status]), [['http-5xx', 503]]);
  } finally {
    records.stop();
    await client.close();
    await h.stop();
  }
});

test('a pod that dies mid-response: the client sees a cut response, the pick ends as reset', async () => {
  const backend = await startBackend('cut-0', (req, res) => {
    req.resume();
    res.writeHead(200, { 'content-length': '100000' });
    res.write('partial');
    setTimeout(() => res.socket?.destroy(), 20);
  });
  const records = recordExchanges();
  const h = await startProxy({ backends: [backend], keySource: null });
  const client = oneConnection(h);
  try {
    const r = await client.request({ method: 'GET', path: '/' });
    assert.equal(r.statusCode, 200);
    await assert.rejects(r.body.text());
    await assertNoInflight(h);
    assert.deepEqual(records.events.map((e) => e.outcome), ['reset']);
  } finally {
    records.stop();
    await client.destroy();
    await h.stop();
  }
});

test('a client that leaves mid-response cancels the pod request (cancelled)', async () => {
  const podClosed = gate();
  const backend = await startBackend('long-0', (req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('tick\n');
    res.on('close', podClosed.open);
  });
  const records = recordExchanges();
  const h = await startProxy({ backends: [backend], keySource: null });
  const client = oneConnection(h);
  try {
    const r = await client.request({ method: 'GET', path: '/' });
    const it = r.body[Symbol.asyncIterator]();
    await it.next();
    await client.destroy();
    await podClosed.promise;
    await assertNoInflight(h);
    assert.deepEqual(records.events.map((e) => e.outcome), ['cancelled']);
  } finally {
    records.stop();
    await h.stop();
  }
});

test('a client that leaves mid-upload cancels the pod request (cancelled)', async () => {
  const podClosed = gate();
  const started = gate();
  const backend = await startBackend('upl-0', (req, res) => {
    req.on('data', started.open);
    res.on('close', podClosed.open);
  });
  const records = recordExchanges();
  const h = await startProxy({ backends: [backend], keySource: null });
  const client = oneConnection(h);
  try {
    const stream = new PassThrough();
    const pending = client.request({ method: 'POST', path: '/', body: stream, headers: { 'content-length': '1000000' } });
    stream.write(Buffer.alloc(1000, 1));
    await started.promise;
    const rejected = assert.rejects(pending);
    await client.destroy();
    await rejected;
    await podClosed.promise;
    await assertNoInflight(h);
    assert.deepEqual(records.events.map((e) => e.outcome), ['cancelled']);
  } finally {
    records.stop();
    await h.stop();
  }
});

test('the client connection stays reusable after a pod failure', async () => {
  const port = await closedPort();
  const good = await startBackend('good-0');
  const h = await startProxy({ backends: [good], endpoints: [{ name: 'dead-0', address: `127.0.0.1:${port}` }], algorithm: 'round-robin', keySource: null });
  const client = oneConnection(h);
  let connections = 0;
  client.on('connect', () => connections++);
  try {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await send(client, '/')).status);
    assert.deepEqual([...statuses].sort(), [200, 200, 200, 502, 502, 502]);
    assert.equal(connections, 1);
    await assertNoInflight(h);
  } finally {
    await client.close();
    await h.stop();
  }
});

test('Exchange: a pod request failing because the client destroyed its request mid-body is cancelled, not a reset', () => {
  const outcomes: string[] = [];
  const ctx = { clock: { nowMs: () => 0 }, log: pino({ level: 'silent' }), endpointHeader: false, closing: false, retries: null, redispatch: () => false, observe: null };
  // The request Node destroyed when the client's connection closed mid-upload; its response not
  // (yet) marked destroyed, as for a response Node has queued or not closed yet.
  const req = { destroyed: true, complete: false } as unknown as IncomingMessage;
  let resDestroyed = 0;
  const res = { destroyed: false, headersSent: false, destroy: () => resDestroyed++ } as unknown as ProxyResponse;
  const request = { path: '/', method: 'POST', headers: [], body: req, req, res, key: null, balancer: null as unknown as Balancer };
  const exchange = new Exchange(ctx, request, 'pod-0', (_t: number, outcome: string) => outcomes.push(outcome), 0);
  const controller = { abort: () => undefined, pause: () => undefined, resume: () => undefined } as unknown as Dispatcher.DispatchController;
  exchange.onRequestStart(controller);
  // What undici reports when the body stream it was writing breaks.
  exchange.onResponseError(controller, Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }));
  assert.deepEqual(outcomes, ['cancelled']);
  assert.equal(resDestroyed, 1, 'nobody is listening: no reply, the response is destroyed');
});

test('Exchange: an upstream that refuses a request before it has a controller (a closed HTTP/2 pool) fails the exchange instead of dropping the error', async () => {
  const outcomes: string[] = [];
  const ctx = { clock: { nowMs: () => 0 }, log: pino({ level: 'silent' }), endpointHeader: false, closing: false, retries: null, redispatch: () => false, observe: null };
  const req = { destroyed: false, complete: true } as unknown as IncomingMessage;
  const written: number[] = [];
  const res = { h2: false, destroyed: false, headersSent: false, req, socket: null, writeHead: (status: number) => written.push(status), end: () => undefined } as unknown as ProxyResponse;
  const request = { path: '/', method: 'GET', headers: [], body: null, req, res, key: null, balancer: null as unknown as Balancer };
  const exchange = new Exchange(ctx, request, 'pod-0', (_t: number, outcome: string) => outcomes.push(outcome), 0);
  const upstream = new H2Upstream('h2c://127.0.0.1:1', { connectMs: 100, headersMs: 100, bodyMs: 100, maxSessions: 1, maxHeaderBytes: 16_384 }, pino({ level: 'silent' }));
  await upstream.close();
  upstream.dispatch(request, exchange);
  assert.equal(outcomes.length, 1, 'the pick ended');
  assert.equal(written.length, 1, 'the client was answered');
  assert.ok(written[0]! >= 500, `answered ${written[0]!}`);
});
