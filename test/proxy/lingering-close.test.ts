/**
 * lingeringClose's limits, on a bare socket; and `Expect: 100-continue`, answered with `100
 * Continue` only when the proxy starts reading the body, so that a body about to be refused is
 * never invited. (Clients reading early answers through the real binary: test/e2e/early-answer.)
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { Client } from 'undici';
import { LoadBoard } from '../../src/balancer/load-board.js';
import { monotonicClock } from '../../src/balancer/clock.js';
import { lingeringClose } from '../../src/proxy/lingering-close.js';
import { startBackends } from '../helpers/backends.js';
import { rawExchange } from '../helpers/raw-http.js';
import { send, startProxy, waitFor } from './harness.js';

const MB = 1_048_576;

test('Expect: 100-continue with a declared length over the limit gets 413 at once, never 100 Continue', async () => {
  const backends = await startBackends(1);
  const h = await startProxy({ backends, algorithm: 'round-robin', keySource: null, proxy: { maxBodyBytes: MB } });
  try {
    const r = await rawExchange(h.port, `POST / HTTP/1.1\r\nHost: a\r\nContent-Length: ${5 * MB}\r\nExpect: 100-continue\r\n\r\n`);
    assert.match(r.text, /^HTTP\/1\.1 413 /);
    assert.doesNotMatch(r.text, /100 Continue/);
    assert.ok(r.closedByServer, 'the connection closes after the refusal');
  } finally {
    await h.stop();
  }
});

test('Expect: 100-continue: 100 Continue comes only when the request leaves the queue for a pod', async () => {
  const held: (() => void)[] = [];
  const backends = await startBackends(1, 'pod', (req, res, backend) => {
    if (req.url === '/hold') {
      held.push(() => res.end('released'));
      return;
    }
    let n = 0;
    req.on('data', (c: Buffer) => (n += c.length));
    req.on('end', () => res.end(`${backend.name} ${n}`));
  });
  const board = new LoadBoard(monotonicClock, { maxInflight: 1 });
  const h = await startProxy({ backends, algorithm: 'round-robin', keySource: null, board, proxy: { queue: { max: 4, timeoutMs: 10_000 } } });
  const holder = new Client(h.origin);
  const socket = net.connect(h.port, '127.0.0.1');
  try {
    const holding = send(holder, '/hold');
    await waitFor(() => h.board.totalInflight === 1, 'the one slot to be taken');
    let received = '';
    socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
    socket.write('POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(received, '', 'nothing, not even 100 Continue, while the request waits for a free endpoint');
    held.splice(0).forEach((f) => f());
    await waitFor(() => received.includes('100 Continue'), '100 Continue once the request is forwarded');
    assert.match(received, /^HTTP\/1\.1 100 Continue\r\n\r\n$/);
    socket.write('hello');
    await waitFor(() => received.includes('pod-0 5'), 'the pod\'s answer to the body');
    assert.equal((await holding).status, 200);
  } finally {
    held.splice(0).forEach((f) => f());
    socket.destroy();
    await holder.close();
    await h.stop();
  }
});

/** A server whose every connection is closed by lingeringClose with the given limits at once. */
async function lingeringServer(limits: { maxMs: number; idleMs: number; maxBytes: number }): Promise<{ port: number; closed: Promise<number>; server: net.Server }> {
  let onClosed!: (ms: number) => void;
  const closed = new Promise<number>((resolve) => (onClosed = resolve));
  const server = net.createServer((socket) => {
    const start = Date.now();
    socket.on('close', () => onClosed(Date.now() - start));
    socket.write('answer');
    lingeringClose(socket, limits);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, closed, server };
}

test('lingeringClose: the client gets the answer and FIN; a client that closes its side closes the connection at once', async () => {
  const s = await lingeringServer({ maxMs: 5_000, idleMs: 5_000, maxBytes: MB });
  try {
    const r = await rawExchange(s.port, 'some body bytes', { end: true, timeoutMs: 3_000 });
    assert.equal(r.text, 'answer');
    assert.ok(r.closedByServer);
    assert.ok((await s.closed) < 2_000, 'closed when the client closed, not after a limit');
  } finally {
    s.server.close();
  }
});

test('lingeringClose: a silent client is closed after idleMs, a client that keeps sending after maxBytes or maxMs', async () => {
  const silent = await lingeringServer({ maxMs: 5_000, idleMs: 150, maxBytes: MB });
  const talker = await lingeringServer({ maxMs: 5_000, idleMs: 1_000, maxBytes: MB });
  const slow = await lingeringServer({ maxMs: 400, idleMs: 1_000, maxBytes: 100 * MB });
  const clients: net.Socket[] = [];
  try {
    clients.push(net.connect(silent.port, '127.0.0.1').on('error', () => undefined));
    const silentMs = await silent.closed;
    assert.ok(silentMs >= 140 && silentMs < 2_000, `silent client closed after ${silentMs} ms`);

    const t = net.connect(talker.port, '127.0.0.1').on('error', () => undefined);
    clients.push(t);
    const chunk = Buffer.alloc(64 * 1024);
    const writer = setInterval(() => t.write(chunk), 1);
    const talkerMs = await talker.closed;
    clearInterval(writer);
    assert.ok(talkerMs < 900, `a client sending without end was closed by maxBytes after ${talkerMs} ms`);

    const w = net.connect(slow.port, '127.0.0.1').on('error', () => undefined);
    clients.push(w);
    const trickle = setInterval(() => w.write('x'), 50);
    const slowMs = await slow.closed;
    clearInterval(trickle);
    assert.ok(slowMs >= 390 && slowMs < 2_000, `a trickling client was closed by maxMs after ${slowMs} ms`);
  } finally {
    for (const c of clients) c.destroy();
    silent.server.close();
    talker.server.close();
    slow.server.close();
  }
});
