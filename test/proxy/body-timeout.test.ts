/**
 * Stalled clients are timed out, whatever part of the request they stall in, over HTTP/1.1 and
 * HTTP/2: a body that stops arriving while the proxy reads it (408), an HTTP/2 header block left
 * unfinished, a request or stream with no byte either way; and a body the proxy itself holds back
 * (queue, a slow pod) is not taken for a stalled one.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type { ClientHttp2Session } from 'node:http2';
import net from 'node:net';
import { test } from 'node:test';
import { Client } from 'undici';
import { LoadBoard } from '../../src/balancer/load-board.js';
import { monotonicClock } from '../../src/balancer/clock.js';
import { DEFAULT_TIMEOUTS } from '../../src/proxy/limits.js';
import { startBackends } from '../helpers/backends.js';
import type { Backend } from '../helpers/backends.js';
import { rawConnect } from '../helpers/raw-http.js';
import { assertNoInflight, send, startProxy, waitFor } from './harness.js';

/** A pod that counts the bodies it read to the end, and answers with their length. */
async function countingPod(): Promise<{ backends: Backend[]; wholeBodies: () => number }> {
  let whole = 0;
  const backends = await startBackends(1, 'pod', (req, res) => {
    let n = 0;
    req.on('data', (c: Buffer) => (n += c.length));
    req.on('end', () => {
      whole++;
      res.end(String(n));
    });
    req.on('error', () => undefined);
  });
  return { backends, wholeBodies: () => whole };
}

function responseOf(stream: http2.ClientHttp2Stream): Promise<http2.IncomingHttpHeaders> {
  return new Promise((resolve) => stream.once('response', (headers) => resolve(headers)));
}

function h2Session(port: number): ClientHttp2Session {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on('error', () => undefined);
  return session;
}

test('the defaults close a stalled body, a stalled head and an unfinished HTTP/2 header block within 45 s', () => {
  // Each is detected after between 1 and 1.25 times its setting.
  assert.ok(DEFAULT_TIMEOUTS.clientBodyMs * 1.25 <= 45_000, `clientBodyMs ${DEFAULT_TIMEOUTS.clientBodyMs}`);
  assert.ok(DEFAULT_TIMEOUTS.clientHeadersMs * 1.25 <= 45_000, `clientHeadersMs ${DEFAULT_TIMEOUTS.clientHeadersMs}`);
  assert.ok(DEFAULT_TIMEOUTS.clientBodyMs > 0 && DEFAULT_TIMEOUTS.streamIdleMs > 0, 'both on by default');
});

test('HTTP/1.1: a body that stops arriving gets 408, the connection closes, and no pod takes it for whole', async () => {
  const { backends, wholeBodies } = await countingPod();
  const h = await startProxy({ backends, algorithm: 'round-robin', keySource: null, timeouts: { clientBodyMs: 300 } });
  const c = await rawConnect(h.port);
  try {
    const started = Date.now();
    c.socket.write('POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n0123456789');
    await c.closed;
    const took = Date.now() - started;
    assert.match(c.text(), /^HTTP\/1\.1 408 /);
    assert.match(c.text(), /client body timeout/);
    assert.ok(took >= 250 && took < 2_500, `closed after ${took} ms`);
    assert.equal(wholeBodies(), 0);
    await assertNoInflight(h);
  } finally {
    c.socket.destroy();
    await h.stop();
  }
});

test('HTTP/1.1: stalled bodies up to --max-connections are timed out, and other clients get in again', async () => {
  const { backends } = await countingPod();
  const h = await startProxy({ backends, algorithm: 'round-robin', keySource: null, timeouts: { clientBodyMs: 300 }, proxy: { maxConnections: 20 } });
  const stalled = await Promise.all(Array.from({ length: 20 }, () => rawConnect(h.port)));
  try {
    for (const c of stalled) c.socket.write('POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n0123456789');
    await waitFor(() => h.board.totalInflight === 20, '20 stalled requests in flight');
    await Promise.all(stalled.map((c) => c.closed));
    const client = new Client(h.origin);
    assert.equal((await send(client, '/')).status, 200, 'a new client is served once the stalled ones are gone');
    await client.close();
    await assertNoInflight(h);
  } finally {
    for (const c of stalled) c.socket.destroy();
    await h.stop();
  }
});

test('HTTP/1.1: a body on a json: key route that stops arriving gets 408', async () => {
  const { backends } = await countingPod();
  const h = await startProxy({ backends, algorithm: 'ring-hash', keySource: 'json:account', timeouts: { clientBodyMs: 300 } });
  const c = await rawConnect(h.port);
  try {
    c.socket.write('POST /up HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"account":');
    await c.closed;
    assert.match(c.text(), /^HTTP\/1\.1 408 /);
    assert.equal(backends[0]!.requests, 0);
  } finally {
    c.socket.destroy();
    await h.stop();
  }
});

test('HTTP/2: a body that stops arriving gets 408 and its stream is reset; the session serves on', async () => {
  const { backends, wholeBodies } = await countingPod();
  const h = await startProxy({ backends, algorithm: 'round-robin', keySource: null, timeouts: { clientBodyMs: 300 } });
  const session = h2Session(h.port);
  try {
    const stream = session.request({ ':method': 'POST', ':path': '/up', 'content-length': '100' });
    stream.on('error', () => undefined);
    stream.write('0123456789');
    const headers = await responseOf(stream);
    assert.equal(headers[':status'], 408);
    stream.resume();
    await new Promise((resolve) => stream.once('close', resolve));
    assert.equal(wholeBodies(), 0);
    const next = session.request({ ':path': '/next' });
    const nextHeaders = await responseOf(next);
    assert.equal(nextHeaders[':status'], 200);
    next.resume();
    await assertNoInflight(h);
  } finally {
    session.destroy();
    await h.stop();
  }
});

test('a body held back by the proxy is not a stalled body: it waits in the queue past the body timeout and is served', async () => {
  const held: (() => void)[] = [];
  const backends = await startBackends(1, 'pod', (req, res) => {
    let n = 0;
    req.on('data', (c: Buffer) => (n += c.length));
    req.on('end', () => {
      if (req.url === '/hold') held.push(() => res.end('released'));
      else res.end(String(n));
    });
  });
  const board = new LoadBoard(monotonicClock, { maxInflight: 1 });
  const h = await startProxy({ backends, algorithm: 'round-robin', keySource: null, board, timeouts: { clientBodyMs: 200 }, proxy: { queue: { max: 4, timeoutMs: 5_000 } } });
  const holder = new Client(h.origin);
  const c = await rawConnect(h.port);
  try {
    const holding = send(holder, '/hold');
    await waitFor(() => h.board.totalInflight === 1, 'the one slot to be taken');
    // The whole body is sent at once; it sits in the socket while the request waits.
    c.socket.write('POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n0123456789');
    await new Promise((r) => setTimeout(r, 700));
    assert.equal(c.text(), '', 'still waiting, not timed out');
    held.splice(0).forEach((f) => f());
    await c.until('\r\n\r\n10');
    assert.match(c.text(), /^HTTP\/1\.1 200 /);
    assert.equal((await holding).status, 200);
  } finally {
    held.splice(0).forEach((f) => f());
    c.socket.destroy();
    await holder.close();
    await h.stop();
  }
});

test('a body a slow pod reads late is not a stalled body', async () => {
  const backends = await startBackends(1, 'pod', (req, res) => {
    req.pause();
    setTimeout(() => {
      let n = 0;
      req.on('data', (c: Buffer) => (n += c.length));
      req.on('end', () => res.end(String(n)));
      req.resume();
    }, 800);
  });
  const h = await startProxy({ backends, algorithm: 'round-robin', keySource: null, timeouts: { clientBodyMs: 200 } });
  try {
    const client = new Client(h.origin);
    // Larger than every buffer on the way, so the client is held back while the pod waits.
    const body = Buffer.alloc(32 * 1_048_576, 0x61);
    const r = await send(client, '/', { method: 'POST', body });
    assert.equal(r.status, 200);
    assert.equal(r.text, String(body.length));
    await client.close();
  } finally {
    await h.stop();
  }
});

test('HTTP/2: a header block left unfinished (HEADERS without END_HEADERS) closes the connection after the head timeout', async () => {
  const backends = await startBackends(1);
  const h = await startProxy({ backends, algorithm: 'round-robin', keySource: null, timeouts: { clientHeadersMs: 300 } });
  const socket = net.connect(h.port, '127.0.0.1');
  socket.on('error', () => undefined);
  socket.resume();
  try {
    const frame = (type: number, flags: number, streamId: number, payload: Buffer): Buffer => {
      const head = Buffer.alloc(9);
      head.writeUIntBE(payload.length, 0, 3);
      head[3] = type;
      head[4] = flags;
      head.writeUInt32BE(streamId, 5);
      return Buffer.concat([head, payload]);
    };
    const started = Date.now();
    socket.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
    socket.write(frame(4, 0, 0, Buffer.alloc(0)));
    // HEADERS on stream 1 with END_STREAM but not END_HEADERS: `:method GET`, `:scheme http`, and no more.
    socket.write(frame(1, 0x1, 1, Buffer.from([0x82, 0x86])));
    await new Promise((resolve) => socket.once('close', resolve));
    const took = Date.now() - started;
    assert.ok(took >= 250 && took < 3_000, `closed after ${took} ms`);
    // A complete request on a new connection is served.
    const session = h2Session(h.port);
    const s = session.request({ ':path': '/' });
    const headers = await responseOf(s);
    assert.equal(headers[':status'], 200);
    session.destroy();
  } finally {
    socket.destroy();
    await h.stop();
  }
});

test('an idle HTTP/2 session with a quiet stream open is not cut by its header check', async () => {
  let answer: (() => void) | null = null;
  const backends = await startBackends(1, 'pod', (req, res) => {
    req.resume();
    answer = () => res.end('late');
  });
  const h = await startProxy({ backends, algorithm: 'round-robin', keySource: null, timeouts: { clientHeadersMs: 200, upstreamHeadersMs: 0 } });
  const session = h2Session(h.port);
  try {
    const s = session.request({ ':path': '/quiet' });
    s.setEncoding('utf8');
    let text = '';
    s.on('data', (d: string) => (text += d));
    await waitFor(() => answer !== null, 'the request at the pod');
    await new Promise((r) => setTimeout(r, 800));
    answer!();
    await new Promise((resolve) => s.once('end', resolve));
    assert.equal(text, 'late');
  } finally {
    session.destroy();
    await h.stop();
  }
});

for (const protocol of ['HTTP/1.1', 'HTTP/2'] as const) {
  test(`${protocol}: a request with no byte either way for streamIdleMs is cut (a client that stopped reading its response)`, async () => {
    // 256 MiB, written with back-pressure: far more than every buffer on the way holds.
    const mb = Buffer.alloc(1_048_576, 0x62);
    const backends = await startBackends(1, 'pod', (req, res) => {
      req.resume();
      let sent = 0;
      const more = (): void => {
        while (sent < 256) {
          sent++;
          if (!res.write(mb)) {
            res.once('drain', more);
            return;
          }
        }
        res.end();
      };
      more();
      res.on('close', () => (sent = 256));
    });
    const h = await startProxy({ backends, algorithm: 'round-robin', keySource: null, timeouts: { streamIdleMs: 300 } });
    try {
      const started = Date.now();
      let received = 0;
      let ended: Promise<unknown>;
      let resume: () => void;
      if (protocol === 'HTTP/1.1') {
        const c = await rawConnect(h.port);
        c.socket.pause();
        c.socket.on('data', (d: Buffer) => (received += d.length));
        c.socket.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
        ended = c.closed;
        resume = () => c.socket.resume();
      } else {
        const session = h2Session(h.port);
        const s = session.request({ ':path': '/' });
        s.on('error', () => undefined);
        s.pause();
        s.on('data', (d: Buffer) => (received += d.length));
        ended = new Promise((resolve) => s.once('close', resolve)).finally(() => session.destroy());
        resume = () => s.resume();
      }
      // The proxy cuts the exchange (a paused client does not notice until it reads again).
      await waitFor(() => h.board.totalInflight === 1, 'the request at the pod');
      await waitFor(() => h.board.totalInflight === 0, 'the idle exchange to be cut', 3_000);
      const took = Date.now() - started;
      assert.ok(took >= 250, `cut after ${took} ms`);
      resume();
      await ended;
      assert.ok(received < 256 * 1_048_576, `the client got the whole response (${received} bytes): nothing was cut`);
      await assertNoInflight(h);
    } finally {
      await h.stop();
    }
  });
}
