/**
 * H1Upstream against real HTTP/1.1 pods on loopback: node:http servers for well-behaved ones, raw
 * `net` servers for what a server library would not send (bad heads, wrong lengths, early closes,
 * stalls, stray bytes, interim responses). Checks what the Exchange relies on: the handler calls
 * and their order, undici's error codes and the phase they come in (before or after
 * onRequestStart), the request framing the pod sees, and when connections are reused.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import { pino } from 'pino';
import type { Dispatcher } from 'undici';
import { H1Upstream } from '../../src/proxy/h1-upstream.js';
import type { H1UpstreamOptions } from '../../src/proxy/h1-upstream.js';
import type { H2DispatchOptions } from '../../src/proxy/h2-upstream.js';
import { closedPort } from '../helpers/backends.js';
import { TEST_CA, TEST_CERT, TEST_KEY } from '../helpers/tls-fixture.js';
import { until } from '../helpers/until.js';

const silent = pino({ level: 'silent' });

/** A handler that records every call, as the Exchange would see them. */
class Recorder implements Dispatcher.DispatchHandler {
  readonly calls: string[] = [];
  controller: Dispatcher.DispatchController | null = null;
  /** onRequestStart ran: the request reached a connected socket. */
  started = false;
  status = 0;
  reason = '';
  headers: IncomingHttpHeaders = {};
  readonly chunks: Buffer[] = [];
  trailers: IncomingHttpHeaders | null = null;
  error: (Error & { code?: string }) | null = null;
  /** Called for each body chunk (to pause or abort from inside). */
  onChunk: ((r: Recorder, chunk: Buffer) => void) | null = null;
  readonly done: Promise<void>;
  #resolve!: () => void;

  constructor() {
    this.done = new Promise((resolve) => (this.#resolve = resolve));
  }

  get text(): string {
    return Buffer.concat(this.chunks).toString('latin1');
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.calls.push('start');
    this.started = true;
    this.controller = controller;
  }

  onResponseStart(_c: Dispatcher.DispatchController, status: number, headers: IncomingHttpHeaders, reason?: string): void {
    this.calls.push(`head ${status}`);
    this.status = status;
    this.headers = headers;
    this.reason = reason ?? '';
  }

  onResponseData(_c: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.calls.at(-1) !== 'data') this.calls.push('data');
    this.chunks.push(chunk);
    this.onChunk?.(this, chunk);
  }

  onResponseEnd(_c: Dispatcher.DispatchController, trailers: IncomingHttpHeaders): void {
    this.calls.push('end');
    this.trailers = trailers;
    this.#resolve();
  }

  onResponseError(_c: Dispatcher.DispatchController | undefined, err: Error): void {
    this.calls.push('error');
    this.error = err;
    this.#resolve();
  }
}

const OPTIONS: H1UpstreamOptions = { connectMs: 2_000, headersMs: 5_000, bodyMs: 5_000, idleMs: 5_000, maxHeaderBytes: 16_384 };

function upstream(t: TestContext, port: number, options: Partial<H1UpstreamOptions> = {}, tls = false): H1Upstream {
  const scheme = tls ? 'https' : 'http';
  const up = new H1Upstream({ host: '127.0.0.1', port, tls, origin: `${scheme}://127.0.0.1:${port}`, protocol: 'h1' }, { ...OPTIONS, ...options }, silent);
  t.after(() => up.destroy());
  return up;
}

function send(up: H1Upstream, options: Partial<H2DispatchOptions> = {}, recorder = new Recorder()): Recorder {
  up.dispatch({ path: '/', method: 'GET', headers: ['host', 'pod.test'], body: null, ...options }, recorder);
  return recorder;
}

async function exchange(up: H1Upstream, options: Partial<H2DispatchOptions> = {}): Promise<Recorder> {
  const r = send(up, options);
  await r.done;
  return r;
}

interface Pod {
  readonly port: number;
  /** Connections accepted so far. */
  connections: number;
}

async function listen(t: TestContext, server: net.Server): Promise<Pod> {
  const pod = { port: 0, connections: 0 };
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    pod.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  pod.port = (server.address() as net.AddressInfo).port;
  t.after(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return pod;
}

/** A node:http pod. */
function httpPod(t: TestContext, handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Pod> {
  return listen(t, http.createServer(handler));
}

/** A raw pod: `onRequest` is called with the socket once per request head read (bodies are not read). */
function rawPod(t: TestContext, onRequest: (socket: Socket, head: string, index: number) => void): Promise<Pod> {
  return listen(
    t,
    net.createServer((socket) => {
      let pending = '';
      let index = 0;
      socket.on('error', () => undefined);
      socket.on('data', (d: Buffer) => {
        pending += d.toString('latin1');
        for (let end = pending.indexOf('\r\n\r\n'); end >= 0; end = pending.indexOf('\r\n\r\n')) {
          const head = pending.slice(0, end + 4);
          pending = pending.slice(end + 4);
          onRequest(socket, head, index++);
        }
      });
    }),
  );
}

/** A raw pod that answers every request with `response`. */
function answering(t: TestContext, response: string): Promise<Pod> {
  return rawPod(t, (socket) => socket.write(response));
}

function echoPod(t: TestContext): Promise<Pod> {
  return httpPod(t, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.setHeader('x-method', req.method ?? '');
      res.setHeader('x-length', req.headers['content-length'] ?? 'none');
      res.setHeader('x-coding', req.headers['transfer-encoding'] ?? 'none');
      res.end(Buffer.concat(chunks));
    });
  });
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('a GET: the handler hears start, head, data, end; the pod gets the head as listed, after host and connection', async (t) => {
  const heads: string[] = [];
  const pod = await rawPod(t, (socket, head) => {
    heads.push(head);
    socket.write('HTTP/1.1 200 Fine\r\nContent-Type: text/plain\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\nX-Twice: 1\r\nx-twice: 2\r\nContent-Length: 2\r\n\r\nok');
  });
  const up = upstream(t, pod.port);
  const r = await exchange(up, { path: '/p?q=1', headers: ['X-A', '1', 'Host', 'pod.test:8080', 'x-b', ' two '] });
  assert.deepEqual(r.calls, ['start', 'head 200', 'data', 'end']);
  assert.equal(r.reason, 'Fine');
  assert.equal(r.text, 'ok');
  assert.deepEqual(r.headers, { 'content-type': 'text/plain', 'set-cookie': ['a=1', 'b=2'], 'x-twice': ['1', '2'], 'content-length': '2' });
  assert.deepEqual(r.trailers, {});
  assert.deepEqual(heads, ['GET /p?q=1 HTTP/1.1\r\nhost: pod.test:8080\r\nconnection: keep-alive\r\nX-A: 1\r\nx-b:  two \r\n\r\n']);
});

test('a request without Host gets the pod\'s authority, as undici gives it', async (t) => {
  const heads: string[] = [];
  const pod = await rawPod(t, (socket, head) => {
    heads.push(head);
    socket.write('HTTP/1.1 204 No Content\r\n\r\n');
  });
  const up = upstream(t, pod.port);
  assert.equal((await exchange(up, { headers: [] })).status, 204);
  assert.equal(heads[0], `GET / HTTP/1.1\r\nhost: 127.0.0.1:${pod.port}\r\nconnection: keep-alive\r\n\r\n`);
});

test('sequential requests reuse one connection; concurrent ones each get their own', async (t) => {
  const pod = await echoPod(t);
  const up = upstream(t, pod.port);
  for (let i = 0; i < 5; i++) assert.equal((await exchange(up)).status, 200);
  assert.equal(pod.connections, 1);
  const many = await Promise.all([exchange(up), exchange(up), exchange(up)]);
  assert.deepEqual(many.map((r) => r.status), [200, 200, 200]);
  assert.equal(pod.connections, 3, 'the idle one and two new ones');
  assert.equal(up.connections, 3);
});

test('the most recently idle connection is reused first', async (t) => {
  const held = new Map<string, () => void>();
  const pod = await httpPod(t, (req, res) => {
    const answer = (): void => void res.end(String(req.socket.remotePort));
    if (req.url === '/now') answer();
    else held.set(req.url!, answer);
  });
  const up = upstream(t, pod.port);
  const a = send(up, { path: '/a' });
  const b = send(up, { path: '/b' });
  await until('both requests to arrive', () => held.size === 2);
  held.get('/a')!();
  await a.done;
  held.get('/b')!();
  await b.done;
  await nextTurn();
  await nextTurn();
  assert.notEqual(a.text, b.text, 'two connections');
  assert.equal((await exchange(up, { path: '/now' })).text, b.text, 'the one that finished last');
});

test('request framing: a Buffer gets Content-Length; a stream without one is chunked, with one it is sent as is; a bodiless POST says 0, a GET nothing', async (t) => {
  const pod = await echoPod(t);
  const up = upstream(t, pod.port);
  const buffer = await exchange(up, { method: 'POST', body: Buffer.from('hello') });
  assert.deepEqual([buffer.headers['x-length'], buffer.headers['x-coding'], buffer.text], ['5', 'none', 'hello']);
  const chunked = await exchange(up, { method: 'PUT', body: Readable.from([Buffer.from('ab'), Buffer.from('cd')]) });
  assert.deepEqual([chunked.headers['x-length'], chunked.headers['x-coding'], chunked.text], ['none', 'chunked', 'abcd']);
  const sized = await exchange(up, { method: 'POST', headers: ['host', 'pod.test', 'content-length', '4'], body: Readable.from([Buffer.from('ab'), Buffer.from('cd')]) });
  assert.deepEqual([sized.headers['x-length'], sized.headers['x-coding'], sized.text], ['4', 'none', 'abcd']);
  const emptyPost = await exchange(up, { method: 'POST' });
  assert.deepEqual([emptyPost.headers['x-length'], emptyPost.headers['x-coding']], ['0', 'none']);
  const get = await exchange(up, { method: 'GET' });
  assert.deepEqual([get.headers['x-length'], get.headers['x-coding'], get.headers['x-method']], ['none', 'none', 'GET']);
  assert.equal(pod.connections, 1, 'all on one connection');
});

test('a body that does not match its Content-Length fails: a Buffer before the request starts, a stream once it falls short', async (t) => {
  const pod = await echoPod(t);
  const up = upstream(t, pod.port);
  const buffer = await exchange(up, { method: 'POST', headers: ['content-length', '9'], body: Buffer.from('hello') });
  assert.equal(buffer.error?.code, 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH');
  assert.equal(buffer.started, false, 'refused before the request started');
  const body = Readable.from([Buffer.from('abc')]);
  const short = await exchange(up, { method: 'POST', headers: ['content-length', '10'], body });
  assert.equal(short.error?.code, 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH');
  assert.equal(short.started, true);
  assert.equal(body.destroyed, true, 'the body stream is destroyed');
  const long = await exchange(up, { method: 'POST', headers: ['content-length', '2'], body: Readable.from([Buffer.from('abc')]) });
  assert.equal(long.error?.code, 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH');
  assert.equal((await exchange(up, { method: 'POST', body: Buffer.from('fine') })).text, 'fine', 'the upstream still serves');
});

test('fields that would break the head, and those the transport owns, are refused before anything is sent', async (t) => {
  const pod = await echoPod(t);
  const up = upstream(t, pod.port);
  const cases: [string[], string][] = [
    [['x-evil', 'a\r\nx-injected: 1'], 'UND_ERR_INVALID_ARG'],
    [['x-nul', 'a\u0000b'], 'UND_ERR_INVALID_ARG'],
    [['bad name', 'v'], 'UND_ERR_INVALID_ARG'],
    [['transfer-encoding', 'chunked'], 'UND_ERR_INVALID_ARG'],
    [['Upgrade', 'websocket'], 'UND_ERR_INVALID_ARG'],
    [['host', 'a', 'host', 'b'], 'UND_ERR_INVALID_ARG'],
    [['content-length', '1x'], 'UND_ERR_INVALID_ARG'],
    [['expect', '100-continue'], 'UND_ERR_NOT_SUPPORTED'],
  ];
  for (const [headers, code] of cases) {
    const r = await exchange(up, { headers });
    assert.equal(r.error?.code, code, JSON.stringify(headers));
    assert.deepEqual(r.calls, ['error'], `${JSON.stringify(headers)}: no start`);
  }
  assert.equal((await exchange(up, { path: '/a b' })).error?.code, 'UND_ERR_INVALID_ARG');
  assert.equal(pod.connections, 0, 'nothing reached the pod');
});

test('a chunked response is de-chunked, its trailers handed over, and the connection kept', async (t) => {
  const pod = await answering(t, 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: x-sum\r\n\r\n3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\nX-Sum: 5\r\nx-sum: 6\r\n\r\n');
  const up = upstream(t, pod.port);
  for (let i = 0; i < 2; i++) {
    const r = await exchange(up);
    assert.equal(r.text, 'abcde');
    assert.deepEqual(r.trailers, { 'x-sum': ['5', '6'] });
    await nextTurn();
  }
  assert.equal(pod.connections, 1);
});

test('a chunked response split into single bytes decodes the same', async (t) => {
  const response = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n';
  const pod = await rawPod(t, (socket) => {
    let i = 0;
    const next = (): void => {
      if (i < response.length) socket.write(response[i++]!, next);
    };
    next();
  });
  const r = await exchange(upstream(t, pod.port));
  assert.equal(r.status, 200);
  assert.equal(r.text, 'hello');
});

test('HEAD: the request asks to close, the body the head announces is not waited for, and the connection is not reused', async (t) => {
  const heads: string[] = [];
  const pod = await rawPod(t, (socket, head) => {
    heads.push(head);
    socket.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n');
  });
  const up = upstream(t, pod.port);
  const r = await exchange(up, { method: 'HEAD' });
  assert.deepEqual(r.calls, ['start', 'head 200', 'end']);
  assert.equal(r.headers['content-length'], '10');
  assert.match(heads[0]!, /\r\nconnection: close\r\n/);
  await until('the connection to close', () => up.connections === 0);
});

test('204 and 304 have no body whatever they announce, and keep the connection', async (t) => {
  const pod = await rawPod(t, (socket, _head, i) => socket.write(i === 0 ? 'HTTP/1.1 204 No Content\r\n\r\n' : 'HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n'));
  const up = upstream(t, pod.port);
  assert.deepEqual((await exchange(up)).calls, ['start', 'head 204', 'end']);
  await nextTurn();
  assert.deepEqual((await exchange(up)).calls, ['start', 'head 304', 'end']);
  assert.equal(pod.connections, 1);
});

test('interim 1xx responses are skipped; a 101 is a protocol error', async (t) => {
  const interim = await answering(t, 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
  const r = await exchange(upstream(t, interim.port));
  assert.deepEqual(r.calls, ['start', 'head 200', 'data', 'end']);
  assert.equal(r.text, 'ok');
  const switching = await answering(t, 'HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: foo\r\n\r\n');
  const s = await exchange(upstream(t, switching.port));
  assert.equal(s.error?.code, 'UND_ERR_SOCKET');
  assert.equal(s.error?.message, 'bad upgrade');
});

test('malformed heads fail as undici failed them: a parser error, or an overflow for a head too large', async (t) => {
  const cases: [string, string][] = [
    ['HTTP/1.1 2OO OK\r\n\r\n', 'HPE_BAD_STATUS_LINE'],
    ['HTTP/1.1 200 OK\r\nbad header\r\n\r\n', 'HPE_BAD_FIELD_NAME'],
    ['HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok', 'HPE_CONFLICTING_CONTENT_LENGTH'],
    ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n5\r\nhello\r\n0\r\n\r\n', 'HPE_UNEXPECTED_CONTENT_LENGTH'],
    ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 'HPE_BAD_CHUNK_SIZE'],
    [`HTTP/1.1 200 OK\r\nx-big: ${'a'.repeat(2_000)}\r\n\r\n`, 'UND_ERR_HEADERS_OVERFLOW'],
  ];
  for (const [response, code] of cases) {
    const pod = await answering(t, response);
    const r = await exchange(upstream(t, pod.port, { maxHeaderBytes: 1_024 }));
    assert.equal(r.error?.code, code, JSON.stringify(response.slice(0, 60)));
    assert.equal(r.started, true);
  }
});

test('a body cut short: a length mismatch when the pod announced the close, else "other side closed"', async (t) => {
  const closing = await rawPod(t, (socket) => socket.end('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 10\r\n\r\nabc'));
  const r1 = await exchange(upstream(t, closing.port));
  assert.deepEqual([r1.calls, r1.error?.code], [['start', 'head 200', 'data', 'error'], 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH']);
  const keeping = await rawPod(t, (socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'));
  const r2 = await exchange(upstream(t, keeping.port));
  assert.deepEqual([r2.calls, r2.error?.code, r2.error?.message], [['start', 'head 200', 'data', 'error'], 'UND_ERR_SOCKET', 'other side closed']);
  const chunked = await rawPod(t, (socket) => socket.end('HTTP/1.1 200 OK\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel'));
  assert.equal((await exchange(upstream(t, chunked.port))).error?.code, 'HPE_INVALID_EOF_STATE');
});

test('a body delimited by the close ends with it', async (t) => {
  const pod = await rawPod(t, (socket) => {
    socket.write('HTTP/1.0 200 OK\r\n\r\nfirst ');
    setImmediate(() => socket.end('second'));
  });
  const up = upstream(t, pod.port);
  const r = await exchange(up);
  assert.deepEqual(r.calls, ['start', 'head 200', 'data', 'end']);
  assert.equal(r.text, 'first second');
  await until('the connection to be gone', () => up.connections === 0);
});

test('a pod that closes after reading the request: FIN is "other side closed", RST is ECONNRESET, both after onRequestStart', async (t) => {
  const fin = await rawPod(t, (socket) => socket.end());
  const r1 = await exchange(upstream(t, fin.port));
  assert.deepEqual([r1.calls, r1.error?.code, r1.error?.message], [['start', 'error'], 'UND_ERR_SOCKET', 'other side closed']);
  const rst = await rawPod(t, (socket) => socket.resetAndDestroy());
  const r2 = await exchange(upstream(t, rst.port));
  assert.deepEqual([r2.calls, r2.error?.code], [['start', 'error'], 'ECONNRESET']);
});

test('a reused connection the pod then resets fails the request after its start, as on a new one', async (t) => {
  const pod = await rawPod(t, (socket, _head, i) => {
    if (i === 0) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    else socket.resetAndDestroy();
  });
  const up = upstream(t, pod.port);
  assert.equal((await exchange(up)).text, 'ok');
  await nextTurn();
  const r = await exchange(up);
  assert.deepEqual([r.calls, r.error?.code], [['start', 'error'], 'ECONNRESET']);
  assert.equal(pod.connections, 1, 'it was the kept connection');
});

test('connect failures come before onRequestStart: refused, and a TLS handshake that never ends (connect timeout)', async (t) => {
  const refused = await exchange(upstream(t, await closedPort()));
  assert.deepEqual([refused.calls, refused.error?.code], [['error'], 'ECONNREFUSED']);
  const mute = await listen(t, net.createServer(() => undefined));
  const r = await exchange(upstream(t, mute.port, { connectMs: 100 }, true));
  assert.deepEqual([r.calls, r.error?.code], [['error'], 'UND_ERR_CONNECT_TIMEOUT']);
});

test('headers timeout: no head in time fails after the start; body timeout: silence mid-body fails after the head', async (t) => {
  const silentPod = await rawPod(t, () => undefined);
  const r1 = await exchange(upstream(t, silentPod.port, { headersMs: 100 }));
  assert.deepEqual([r1.calls, r1.error?.code], [['start', 'error'], 'UND_ERR_HEADERS_TIMEOUT']);
  const stalling = await rawPod(t, (socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'));
  const r2 = await exchange(upstream(t, stalling.port, { bodyMs: 100 }));
  assert.deepEqual([r2.calls, r2.error?.code], [['start', 'head 200', 'data', 'error'], 'UND_ERR_BODY_TIMEOUT']);
});

test('pause() stops the body until resume(); a paused request does not time out', async (t) => {
  const body = Buffer.alloc(512 * 1024, 'x');
  const pod = await httpPod(t, (_req, res) => res.end(body));
  const up = upstream(t, pod.port, { bodyMs: 50 });
  const r = new Recorder();
  let pausedAt = -1;
  r.onChunk = (rec) => {
    if (pausedAt < 0) {
      pausedAt = rec.chunks.length;
      rec.controller!.pause();
    }
  };
  send(up, {}, r);
  await until('the first chunk', () => pausedAt >= 0);
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(r.chunks.length, pausedAt, 'nothing more while paused');
  assert.equal(r.error, null, 'no body timeout while paused');
  r.controller!.resume();
  await r.done;
  assert.equal(r.error, null);
  assert.equal(Buffer.concat(r.chunks).length, body.length);
});

test('abort() mid-body: the handler hears the reason once and the connection is closed, not kept', async (t) => {
  const pod = await httpPod(t, (_req, res) => {
    res.write('part');
  });
  const up = upstream(t, pod.port);
  const reason = new Error('client gone');
  const r = new Recorder();
  r.onChunk = (rec) => rec.controller!.abort(reason);
  send(up, {}, r);
  await r.done;
  assert.deepEqual(r.calls, ['start', 'head 200', 'data', 'error']);
  assert.equal(r.error, reason);
  assert.equal(r.controller!.aborted, true);
  assert.equal(up.connections, 0);
});

test('an idle connection that gets a FIN or stray bytes is not reused', async (t) => {
  const finPod = await rawPod(t, (socket) => {
    socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    setTimeout(() => socket.end(), 20);
  });
  const up1 = upstream(t, finPod.port);
  assert.equal((await exchange(up1)).text, 'ok');
  await until('the FIN to close the idle connection', () => up1.connections === 0);
  assert.equal((await exchange(up1)).text, 'ok');
  assert.equal(finPod.connections, 2);

  const strayPod = await rawPod(t, (socket) => {
    socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    setTimeout(() => socket.write('HTTP/1.1 200 OK\r\n'), 20);
  });
  const up2 = upstream(t, strayPod.port);
  assert.equal((await exchange(up2)).text, 'ok');
  await until('stray bytes to close the idle connection', () => up2.connections === 0);

  const extraPod = await answering(t, 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA');
  const up3 = upstream(t, extraPod.port);
  assert.equal((await exchange(up3)).text, 'ok', 'the response itself is whole');
  assert.equal(up3.connections, 0, 'bytes after the response: not reused');
});

test('Keep-Alive: timeout=N shortens the idle time to N - 2 s; at 2 s or less the connection is not kept', async (t) => {
  const closes = { byUs: 0 };
  const pod = await rawPod(t, (socket, head) => {
    socket.once('end', () => closes.byUs++);
    socket.write(`HTTP/1.1 200 OK\r\nKeep-Alive: timeout=${head.startsWith('GET /short') ? 2 : 3}\r\nContent-Length: 2\r\n\r\nok`);
  });
  const up = upstream(t, pod.port, { idleMs: 60_000 });
  assert.equal((await exchange(up, { path: '/short' })).text, 'ok');
  await until('a connection not kept', () => up.connections === 0 && closes.byUs === 1);
  assert.equal((await exchange(up, { path: '/long' })).text, 'ok');
  await nextTurn();
  await nextTurn();
  assert.equal(up.idleConnections, 1, 'kept for now');
  await until('the kept connection to be closed after about a second', () => closes.byUs === 2, 4_000);
  assert.equal(up.connections, 0);
});

test('Connection: close from the pod: the connection is not kept', async (t) => {
  const pod = await answering(t, 'HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok');
  const up = upstream(t, pod.port);
  assert.equal((await exchange(up)).text, 'ok');
  assert.equal(up.connections, 0);
  assert.equal((await exchange(up)).text, 'ok');
  assert.equal(pod.connections, 2);
});

test('a request body is read only as fast as the pod takes it', async (t) => {
  const pod = await rawPod(t, (socket) => socket.pause());
  const up = upstream(t, pod.port, { headersMs: 0 });
  let produced = 0;
  const chunk = Buffer.alloc(64 * 1024);
  const body = new Readable({
    read() {
      produced += chunk.length;
      this.push(chunk);
    },
  });
  const r = send(up, { method: 'POST', body });
  await until('the pod to stop taking bytes', () => produced > 0 && body.isPaused());
  const at = produced;
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.ok(produced - at <= 1_048_576, `the body went on being read: ${produced - at} more bytes`);
  assert.ok(produced < 64 * 1_048_576, `${produced} bytes read for a pod that reads none`);
  r.controller!.abort(new Error('enough'));
  await r.done;
  assert.equal(body.destroyed, true);
});

test('a response that ends before its request body: delivered, the body stream stopped and destroyed, the connection closed', async (t) => {
  const pod = await httpPod(t, (_req, res) => {
    res.writeHead(413, { connection: 'keep-alive' });
    res.end('too large');
  });
  const up = upstream(t, pod.port);
  const body = new Readable({ read() {} });
  body.push(Buffer.alloc(1024));
  const r = send(up, { method: 'POST', body });
  await r.done;
  assert.deepEqual([r.calls, r.status, r.text], [['start', 'head 413', 'data', 'end'], 413, 'too large']);
  assert.equal(body.destroyed, true);
  assert.equal(up.connections, 0);
});

test('close(): requests under way finish, later ones get ClientClosedError, and it resolves with every connection closed', async (t) => {
  let release!: () => void;
  const pod = await httpPod(t, (_req, res) => {
    release = () => res.end('late');
  });
  const up = upstream(t, pod.port);
  const held = send(up);
  await until('the request to arrive', () => typeof release === 'function');
  let closed = false;
  const closing = up.close().then(() => (closed = true));
  const late = await exchange(up);
  assert.deepEqual([late.calls, late.error?.code], [['error'], 'UND_ERR_CLOSED']);
  assert.equal(closed, false);
  release();
  await held.done;
  assert.equal(held.text, 'late');
  await closing;
  assert.equal(up.connections, 0);
});

test('destroy(): requests under way fail with ClientDestroyedError', async (t) => {
  const pod = await rawPod(t, () => undefined);
  const up = upstream(t, pod.port);
  const r = send(up);
  await until('the request to start', () => r.started);
  await up.destroy();
  assert.deepEqual([r.calls, r.error?.code], [['start', 'error'], 'UND_ERR_DESTROYED']);
  assert.equal((await exchange(up)).error?.code, 'UND_ERR_DESTROYED');
});

test('https pods: the server name is the Host\'s name, the certificate is checked, connections are kept', async (t) => {
  const names: (string | false)[] = [];
  const server = https.createServer({ cert: TEST_CERT, key: TEST_KEY }, (req, res) => {
    names.push((req.socket as TLSSocket).servername ?? false);
    res.end('secure');
  });
  const pod = await listen(t, server);
  const up = upstream(t, pod.port, { tls: { ca: TEST_CA } }, true);
  assert.equal((await exchange(up, { headers: ['host', `localhost:${pod.port}`] })).text, 'secure');
  await nextTurn();
  assert.equal((await exchange(up, { headers: ['host', `localhost:${pod.port}`] })).text, 'secure');
  assert.equal(pod.connections, 1);
  assert.deepEqual(names, ['localhost', 'localhost']);
  const untrusting = upstream(t, pod.port, {}, true);
  const r = await exchange(untrusting, { headers: ['host', `localhost:${pod.port}`] });
  assert.equal(r.started, false, 'a certificate refused is a connect failure');
  assert.match(r.error?.code ?? '', /CERT|SELF_SIGNED/);
});
