import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import net from 'node:net';
import { test } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { OPCODE, FrameDecoder, closePayload, encodeFrame, parseClose } from '../helpers/websocket-codec.js';
import { TEST_CA, TEST_CERT, TEST_KEY } from '../helpers/tls-fixture.js';
import type { Front, Pod } from './websocket-harness.js';
import { closeServer, closed, deadPort, echo, flood, listen, nextMessage, openClient, refusedClient, settled, startFront, startPod, waitFor } from './websocket-harness.js';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** Closes the front, then the pod, after the test. */
function closeAfter(t: { after: (fn: () => Promise<void>) => void }, pod: Pod, front: Front): void {
  t.after(async () => {
    await front.close();
    await pod.close();
  });
}

test('websocket: text and binary messages echo through the tunnel, and the pod gets one set of handshake fields', async (t) => {
  const pod = await startPod();
  const front = await startFront({ target: pod.target });
  closeAfter(t, pod, front);
  let upgradeHeaders: http.IncomingHttpHeaders = {};
  const ws = new WebSocket(`ws://127.0.0.1:${front.port}/chat?room=7`, { headers: { 'x-affinity': 'k1' } });
  ws.on('upgrade', (res) => (upgradeHeaders = res.headers));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  ws.send('hello');
  const text = await nextMessage(ws);
  assert.equal(text.data.toString(), 'hello');
  assert.equal(text.isBinary, false);
  const bytes = randomBytes(1000);
  ws.send(bytes);
  const binary = await nextMessage(ws);
  assert.equal(binary.isBinary, true);
  assert.deepEqual(binary.data, bytes);

  assert.equal(upgradeHeaders['x-shardgate-endpoint'], 'pod-0');
  const req = pod.requests[0]!;
  assert.equal(req.url, '/chat?room=7');
  assert.equal(req.headers['x-affinity'], 'k1');
  assert.equal(req.headers['x-forwarded-for'], '127.0.0.1');
  assert.equal(req.headers.host, `127.0.0.1:${front.port}`);
  const keys = req.rawHeaders.filter((_, i) => i % 2 === 0 && req.rawHeaders[i]!.toLowerCase() === 'sec-websocket-key');
  assert.equal(keys.length, 1, `Sec-WebSocket-Key lines: ${req.rawHeaders.join(' | ')}`);
  assert.equal(front.opened(), 1);

  const done = closed(ws);
  ws.close(1000);
  assert.equal((await done).code, 1000);
  assert.deepEqual(await front.ended(), [{ outcome: 'ok', status: 101 }]);
});

test('websocket: a 16 MiB message crosses both ways intact', async (t) => {
  const pod = await startPod({ maxPayload: 32 << 20 });
  const front = await startFront({ target: pod.target });
  closeAfter(t, pod, front);
  const ws = await openClient(front.port, '/', { maxPayload: 32 << 20 });
  const big = randomBytes(16 << 20);
  ws.send(big);
  const back = await nextMessage(ws);
  assert.equal(back.data.length, big.length);
  assert.ok(back.data.equals(big), 'the echoed 16 MiB message differs');
  ws.close();
  assert.equal((await front.ended())[0]!.outcome, 'ok');
});

test('websocket: close codes and reasons travel both ways', async (t) => {
  const pod = await startPod({}, () => undefined);
  const front = await startFront({ target: pod.target });
  closeAfter(t, pod, front);

  const first = await openClient(front.port);
  const firstClosed = closed(first);
  first.close(4001, 'client is done');
  assert.deepEqual(await pod.closes[0], { code: 4001, reason: 'client is done' });
  // The pod's answering Close frame came back with the same code.
  assert.equal((await firstClosed).code, 4001);

  const second = await openClient(front.port);
  const clientSaw = closed(second);
  await waitFor(() => pod.sockets.length === 2);
  pod.sockets[1]!.close(4002, 'pod is done');
  assert.deepEqual(await clientSaw, { code: 4002, reason: 'pod is done' });
  assert.deepEqual(await front.ended(2), [
    { outcome: 'ok', status: 101 },
    { outcome: 'ok', status: 101 },
  ]);
});

test('websocket: the pod dying mid-stream closes the client with 1006 and ends the tunnel as reset', async (t) => {
  const pod = await startPod();
  const front = await startFront({ target: pod.target });
  closeAfter(t, pod, front);

  // The pod's process goes away: its kernel sends FIN, with no Close frame before it.
  const a = await openClient(front.port);
  a.send('ping');
  await nextMessage(a);
  const aClosed = closed(a);
  pod.sockets[0]!.terminate();
  assert.equal((await aClosed).code, 1006);

  // The pod's connection is reset.
  const b = await openClient(front.port);
  const bClosed = closed(b);
  b.on('error', () => undefined);
  await waitFor(() => pod.requests.length === 2);
  pod.requests[1]!.socket.resetAndDestroy();
  assert.equal((await bClosed).code, 1006);

  assert.deepEqual(await front.ended(2), [
    { outcome: 'reset', status: 101 },
    { outcome: 'reset', status: 101 },
  ]);
});

test('websocket: the client dying closes the pod side; the tunnel ends as cancelled', async (t) => {
  const pod = await startPod();
  const front = await startFront({ target: pod.target });
  closeAfter(t, pod, front);

  const a = await openClient(front.port);
  a.terminate();
  await waitFor(() => pod.closes.length === 1);
  assert.equal((await pod.closes[0])!.code, 1006);

  // A reset from the client reaches the pod as a reset.
  const raw = await rawUpgrade(front.port);
  raw.socket.resetAndDestroy();
  await waitFor(() => pod.closes.length === 2);
  assert.equal((await pod.closes[1])!.code, 1006);

  assert.deepEqual(await front.ended(2), [
    { outcome: 'cancelled', status: 101 },
    { outcome: 'cancelled', status: 101 },
  ]);
});

test('websocket: a client socket destroyed by the proxy (shutdown) closes the pod side; outcome cancelled', async (t) => {
  const pod = await startPod();
  const front = await startFront({ target: pod.target });
  closeAfter(t, pod, front);
  const ws = await openClient(front.port);
  const clientClosed = closed(ws);
  front.clients[0]!.destroy();
  assert.equal((await clientClosed).code, 1006);
  assert.equal((await pod.closes[0])!.code, 1006);
  assert.deepEqual(await front.ended(), [{ outcome: 'cancelled', status: 101 }]);
});

test('websocket: a pod that refuses the upgrade is relayed: status, headers and body', async (t) => {
  const server = http.createServer();
  server.on('upgrade', (req, socket: Socket) => {
    if (req.url === '/busy') socket.end('HTTP/1.1 503 Service Unavailable\r\ncontent-length: 4\r\n\r\nbusy');
    else socket.end('HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\nx-reason: no-entry\r\ntransfer-encoding: chunked\r\n\r\n5\r\nnope!\r\n0\r\n\r\n');
  });
  const port = await listen(server);
  t.after(() => closeServer(server));
  const front = await startFront({ target: { host: '127.0.0.1', port, tls: false, name: 'pod-0' } });
  t.after(() => front.close());
  const refusal = await refusedClient(front.port);
  assert.equal(refusal.status, 403);
  assert.equal(refusal.headers['x-reason'], 'no-entry');
  assert.equal(refusal.headers['x-shardgate-endpoint'], 'pod-0');
  assert.equal(refusal.body, 'nope!');
  const busy = await refusedClient(front.port, '/busy');
  assert.equal(busy.status, 503);
  assert.equal(busy.body, 'busy');
  assert.deepEqual(await front.ended(2), [
    { outcome: 'ok', status: 403 },
    { outcome: 'http-5xx', status: 503 },
  ]);
});

test('websocket: an unreachable pod is 502 SG_ERR_UPSTREAM_CONNECT, outcome connect-failed', async (t) => {
  const front = await startFront({ target: { host: '127.0.0.1', port: await deadPort(), tls: false, name: 'pod-9' } });
  t.after(() => front.close());
  const refusal = await refusedClient(front.port);
  assert.equal(refusal.status, 502);
  assert.equal((JSON.parse(refusal.body) as { code: string }).code, 'SG_ERR_UPSTREAM_CONNECT');
  assert.equal(refusal.headers['x-shardgate-endpoint'], 'pod-9');
  assert.deepEqual(await front.ended(), [{ outcome: 'connect-failed', status: 502 }]);
});

test('websocket: retry takes the client back untouched after a connect failure, and another pod serves it', async (t) => {
  const pod = await startPod();
  const front = await startFront({ target: { host: '127.0.0.1', port: await deadPort(), tls: false }, fallback: pod.target });
  closeAfter(t, pod, front);
  const ws = await openClient(front.port);
  ws.send('second try');
  assert.equal((await nextMessage(ws)).data.toString(), 'second try');
  ws.close();
  assert.deepEqual(await front.ended(2), [
    { outcome: 'connect-failed', status: 0 },
    { outcome: 'ok', status: 101 },
  ]);
});

test('websocket: a pod that never answers the handshake is 504 SG_ERR_UPSTREAM_TIMEOUT, outcome timeout', async (t) => {
  // It reads (so that it sees the proxy hang up) but never answers.
  const silent = net.createServer((s) => s.on('error', () => undefined).resume());
  const port = await listen(silent);
  t.after(() => closeServer(silent));
  const front = await startFront({ target: { host: '127.0.0.1', port, tls: false }, options: { handshakeMs: 100 } });
  t.after(() => front.close());
  const refusal = await refusedClient(front.port);
  assert.equal(refusal.status, 504);
  assert.equal((JSON.parse(refusal.body) as { code: string }).code, 'SG_ERR_UPSTREAM_TIMEOUT');
  assert.deepEqual(await front.ended(), [{ outcome: 'timeout', status: 504 }]);
});

test('websocket: a pod response head over maxHeaderBytes is 502 SG_ERR_UPSTREAM_PROTOCOL', async (t) => {
  const bloated = net.createServer((s) => {
    s.on('error', () => undefined);
    s.once('data', () => s.end(`HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\nx-pad: ${'a'.repeat(4096)}\r\n\r\n`));
  });
  const port = await listen(bloated);
  t.after(() => closeServer(bloated));
  const front = await startFront({ target: { host: '127.0.0.1', port, tls: false }, options: { maxHeaderBytes: 2048 } });
  t.after(() => front.close());
  const refusal = await refusedClient(front.port);
  assert.equal(refusal.status, 502);
  assert.equal((JSON.parse(refusal.body) as { code: string }).code, 'SG_ERR_UPSTREAM_PROTOCOL');
  assert.deepEqual(await front.ended(), [{ outcome: 'reset', status: 502 }]);
});

test('websocket: the subprotocol is negotiated end to end', async (t) => {
  let offered: string[] = [];
  const pod = await startPod({
    handleProtocols: (protocols) => {
      offered = [...protocols];
      return protocols.has('chat.v1') ? 'chat.v1' : false;
    },
  });
  const front = await startFront({ target: pod.target });
  closeAfter(t, pod, front);
  const ws = await openClient(front.port, '/', {}, ['chat.v2', 'chat.v1']);
  assert.equal(ws.protocol, 'chat.v1');
  assert.deepEqual(offered, ['chat.v2', 'chat.v1']);
  ws.close();
  await front.ended();
});

test('websocket: permessage-deflate is negotiated by the two ends and compressed bytes cross the tunnel', async (t) => {
  const pod = await startPod({ perMessageDeflate: { threshold: 0 } });
  const front = await startFront({ target: pod.target });
  closeAfter(t, pod, front);
  const ws = await openClient(front.port, '/', { perMessageDeflate: { threshold: 0 } });
  assert.match(ws.extensions, /permessage-deflate/);
  assert.match(pod.sockets[0]!.extensions, /permessage-deflate/);
  const text = 'abc'.repeat(100_000);
  ws.send(text);
  assert.equal((await nextMessage(ws)).data.toString(), text);
  // 300 kB of repetition compresses to a few hundred bytes: the tunnel carried it compressed.
  const clientSocket = front.clients[0] as Socket;
  assert.ok(clientSocket.bytesRead < 10_000, `the tunnel read ${clientSocket.bytesRead} bytes from the client`);
  ws.close();
  await front.ended();
});

test('websocket: a slow client holds the pod back instead of filling the proxy (back-pressure)', async (t) => {
  const total = 48 << 20;
  const pod = await startPod({}, flood(total));
  const front = await startFront({ target: pod.target });
  closeAfter(t, pod, front);
  const raw = await rawUpgrade(front.port);
  t.after(() => raw.socket.destroy());
  raw.socket.pause();
  // Wait until the pod can push no more: everything between it and the paused client is full.
  await waitFor(() => pod.sockets.length === 1);
  const podWs = pod.sockets[0]!;
  await settled(() => podWs.bufferedAmount);
  const proxyToClient = front.clients[0] as Socket;
  assert.ok(proxyToClient.writableLength < 1 << 20, `the proxy buffered ${proxyToClient.writableLength} bytes for the client`);
  assert.ok(podWs.bufferedAmount > 8 << 20, `the pod still holds only ${podWs.bufferedAmount} bytes: nothing held it back`);
  // Reading again drains it all.
  let received = raw.received;
  raw.socket.on('data', (d: Buffer) => (received += d.length));
  raw.socket.resume();
  await waitFor(() => received >= total);
  assert.equal(podWs.bufferedAmount, 0);
});

test('websocket: half-close is relayed: the pod still sends after the client has finished sending', async (t) => {
  const podServer = net.createServer({ allowHalfOpen: true });
  let podSocket: Socket | null = null;
  podServer.on('connection', (s) => {
    podSocket = s;
    s.on('error', () => undefined);
    let head = '';
    s.on('data', (d: Buffer) => {
      head += d.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      const key = /sec-websocket-key: (.*)\r\n/i.exec(head)![1]!;
      s.write(`HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\nsec-websocket-accept: ${acceptFor(key)}\r\n\r\n`);
      s.removeAllListeners('data');
    });
  });
  const port = await listen(podServer);
  t.after(() => closeServer(podServer));
  const front = await startFront({ target: { host: '127.0.0.1', port, tls: false } });
  t.after(() => front.close());
  const raw = await rawUpgrade(front.port);
  const podEnded = new Promise<void>((resolve) => podSocket!.once('end', resolve));
  podSocket!.resume();
  raw.socket.end();
  await podEnded;
  // The pod half-closed toward it, but the client still reads.
  const decoder = new FrameDecoder();
  raw.socket.on('data', (d: Buffer) => decoder.push(d)).resume();
  const clientEnded = new Promise<void>((resolve) => raw.socket.once('end', resolve));
  podSocket!.end(encodeFrame(OPCODE.close, closePayload(1000, 'late'), false));
  await clientEnded;
  assert.deepEqual(parseClose(decoder.frames[0]!.payload), { code: 1000, reason: 'late' });
  // The client left first, before any Close frame.
  assert.deepEqual(await front.ended(), [{ outcome: 'cancelled', status: 101 }]);
});

test('websocket: an idle tunnel is closed after idleMs', async (t) => {
  const pod = await startPod();
  const front = await startFront({ target: pod.target, options: { idleMs: 100 } });
  closeAfter(t, pod, front);
  const ws = await openClient(front.port);
  ws.on('error', () => undefined);
  assert.equal((await closed(ws)).code, 1006);
  assert.deepEqual(await front.ended(), [{ outcome: 'ok', status: 101 }]);
});

test('websocket: a pod behind TLS is reached with the configured CA', async (t) => {
  const server = https.createServer({ cert: TEST_CERT, key: TEST_KEY });
  const wss = new WebSocketServer({ server });
  wss.on('connection', echo);
  const port = await listen(server);
  t.after(async () => {
    for (const c of wss.clients) c.terminate();
    wss.close();
    await closeServer(server);
  });
  const front = await startFront({ target: { host: '127.0.0.1', port, tls: true, servername: 'localhost' }, options: { tls: { ca: TEST_CA } } });
  t.after(() => front.close());
  const ws = await openClient(front.port);
  ws.send('over tls');
  assert.equal((await nextMessage(ws)).data.toString(), 'over tls');
  ws.close();
  assert.deepEqual(await front.ended(), [{ outcome: 'ok', status: 101 }]);

  // Without the CA the pod's certificate is not trusted: the pod counts as unreachable.
  const untrusting = await startFront({ target: { host: '127.0.0.1', port, tls: true, servername: 'localhost' } });
  t.after(() => untrusting.close());
  assert.equal((await refusedClient(untrusting.port)).status, 502);
  assert.deepEqual(await untrusting.ended(), [{ outcome: 'connect-failed', status: 502 }]);
});

// ---- helpers ----

function acceptFor(key: string): string {
  return createHash('sha1').update(key + GUID).digest('base64');
}

interface RawUpgrade {
  readonly socket: Socket;
  /** Bytes received after the response head while flowing. */
  readonly received: number;
}

/** A WebSocket handshake over a raw socket, left for the test to drive. */
async function rawUpgrade(port: number): Promise<RawUpgrade> {
  const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  socket.on('error', () => undefined);
  const key = randomBytes(16).toString('base64');
  socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  let head = Buffer.alloc(0);
  const rest = await new Promise<Buffer>((resolve, reject) => {
    const onData = (d: Buffer): void => {
      head = Buffer.concat([head, d]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      socket.pause();
      const status = head.subarray(0, 12).toString('latin1');
      if (!status.startsWith('HTTP/1.1 101')) reject(new Error(`handshake failed: ${head.toString('latin1')}`));
      else resolve(head.subarray(end + 4));
    };
    socket.on('data', onData);
    socket.once('close', () => reject(new Error('closed during the handshake')));
  });
  return { socket, received: rest.length };
}
