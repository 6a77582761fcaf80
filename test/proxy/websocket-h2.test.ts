import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import http2 from 'node:http2';
import type { Socket } from 'node:net';
import net from 'node:net';
import { test } from 'node:test';
import { constants as zlib, inflateRawSync } from 'node:zlib';
import { OPCODE, closePayload, parseClose } from '../helpers/websocket-codec.js';
import type { Front, Pod } from './websocket-harness.js';
import { closeServer, deadPort, echo, flood, listen, openH2, settled, startFront, startPod, waitFor } from './websocket-harness.js';

const { NGHTTP2_CANCEL } = http2.constants;

function closeAfter(t: { after: (fn: () => Promise<void>) => void }, front: Front, pod?: Pod): void {
  t.after(async () => {
    await front.close();
    await pod?.close();
  });
}

test('websocket over HTTP/2: text and binary echo; the pod gets an HTTP/1.1 Upgrade with our own key', async (t) => {
  const pod = await startPod();
  const front = await startFront({ target: pod.target, h2: true });
  closeAfter(t, front, pod);
  const h = await openH2(front.port, '/chat?room=7', { 'x-affinity': 'k1' });
  t.after(() => h.session.destroy());
  assert.equal(h.headers[':status'], 200);
  assert.equal(h.headers['x-shardgate-endpoint'], 'pod-0');
  assert.equal(h.headers['sec-websocket-accept'], undefined);

  h.send(OPCODE.text, Buffer.from('hello'));
  const text = await h.next();
  assert.equal(text.opcode, OPCODE.text);
  assert.equal(text.payload.toString(), 'hello');
  const bytes = randomBytes(300);
  h.send(OPCODE.binary, bytes);
  const binary = await h.next();
  assert.equal(binary.opcode, OPCODE.binary);
  assert.deepEqual(binary.payload, bytes);

  const req = pod.requests[0]!;
  assert.equal(req.method, 'GET');
  assert.equal(req.url, '/chat?room=7');
  assert.equal(req.headers.host, `127.0.0.1:${front.port}`);
  assert.equal(req.headers['x-affinity'], 'k1');
  assert.equal(req.headers['sec-websocket-version'], '13');
  assert.match(req.headers['sec-websocket-key'] ?? '', /^[A-Za-z0-9+/]{22}==$/);
  assert.equal(front.opened(), 1);

  // The closing handshake, then each side ends its half of the stream.
  h.send(OPCODE.close, closePayload(1000, ''));
  assert.equal((await h.next()).opcode, OPCODE.close);
  h.stream.end();
  assert.equal(await h.closed, 0);
  assert.deepEqual(await front.ended(), [{ outcome: 'ok', status: 200 }]);
});

test('websocket over HTTP/2: a 16 MiB message crosses both ways intact', async (t) => {
  const pod = await startPod({ maxPayload: 32 << 20 });
  const front = await startFront({ target: pod.target, h2: true });
  closeAfter(t, front, pod);
  const h = await openH2(front.port);
  t.after(() => h.session.destroy());
  const big = randomBytes(16 << 20);
  h.send(OPCODE.binary, big);
  const back = await h.next();
  assert.equal(back.payload.length, big.length);
  assert.ok(back.payload.equals(big), 'the echoed 16 MiB message differs');
});

test('websocket over HTTP/2: close codes and reasons travel both ways', async (t) => {
  const pod = await startPod({}, () => undefined);
  const front = await startFront({ target: pod.target, h2: true });
  closeAfter(t, front, pod);

  const a = await openH2(front.port);
  t.after(() => a.session.destroy());
  a.send(OPCODE.close, closePayload(4001, 'client is done'));
  assert.deepEqual(parseClose((await a.next()).payload), { code: 4001, reason: 'client is done' });
  // The closing handshake is over: the client ends its half, as it would close TCP.
  a.stream.end();
  assert.deepEqual(await pod.closes[0], { code: 4001, reason: 'client is done' });

  const b = await openH2(front.port);
  t.after(() => b.session.destroy());
  await waitFor(() => pod.sockets.length === 2);
  pod.sockets[1]!.close(4002, 'pod is done');
  const frame = await b.next();
  assert.equal(frame.opcode, OPCODE.close);
  assert.deepEqual(parseClose(frame.payload), { code: 4002, reason: 'pod is done' });
  b.send(OPCODE.close, frame.payload);
  b.stream.end();
  assert.equal(await b.closed, 0);
  assert.deepEqual(await front.ended(2), [
    { outcome: 'ok', status: 200 },
    { outcome: 'ok', status: 200 },
  ]);
});

test('websocket over HTTP/2: the pod dying ends the stream, and a pod reset resets it with CANCEL; both are outcome reset', async (t) => {
  const pod = await startPod();
  const front = await startFront({ target: pod.target, h2: true });
  closeAfter(t, front, pod);

  // FIN from the pod, with no Close frame before it: END_STREAM (RFC 8441 section 5 maps FIN so).
  const a = await openH2(front.port);
  t.after(() => a.session.destroy());
  a.send(OPCODE.text, Buffer.from('ping'));
  await a.next();
  pod.sockets[0]!.terminate();
  await assert.rejects(a.next(), /the stream ended/);
  a.stream.end();
  assert.equal(await a.closed, 0);

  // RST from the pod: RST_STREAM(CANCEL).
  const b = await openH2(front.port);
  t.after(() => b.session.destroy());
  await waitFor(() => pod.requests.length === 2);
  pod.requests[1]!.socket.resetAndDestroy();
  assert.equal(await b.closed, NGHTTP2_CANCEL);

  assert.deepEqual(await front.ended(2), [
    { outcome: 'reset', status: 200 },
    { outcome: 'reset', status: 200 },
  ]);
});

test('websocket over HTTP/2: a client that resets its stream closes the pod side; outcome cancelled', async (t) => {
  const pod = await startPod();
  const front = await startFront({ target: pod.target, h2: true });
  closeAfter(t, front, pod);
  const h = await openH2(front.port);
  t.after(() => h.session.destroy());
  await waitFor(() => pod.closes.length === 1);
  h.stream.close(NGHTTP2_CANCEL);
  assert.equal((await pod.closes[0])!.code, 1006);
  assert.deepEqual(await front.ended(), [{ outcome: 'cancelled', status: 200 }]);
});

test('websocket over HTTP/2: a pod that refuses the upgrade is relayed with its status and body', async (t) => {
  const server = http.createServer();
  server.on('upgrade', (_req, socket: Socket) => {
    socket.end('HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\ncontent-length: 5\r\nconnection: close\r\n\r\nnope!');
  });
  const port = await listen(server);
  t.after(() => closeServer(server));
  const front = await startFront({ target: { host: '127.0.0.1', port, tls: false, name: 'pod-0' }, h2: true });
  closeAfter(t, front);
  const h = await openH2(front.port);
  t.after(() => h.session.destroy());
  assert.equal(h.headers[':status'], 403);
  assert.equal(h.headers['x-shardgate-endpoint'], 'pod-0');
  assert.equal(h.headers.connection, undefined);
  assert.equal(await h.body(), 'nope!');
  assert.deepEqual(await front.ended(), [{ outcome: 'ok', status: 403 }]);
});

test('websocket over HTTP/2: an unreachable pod is 502 SG_ERR_UPSTREAM_CONNECT, outcome connect-failed', async (t) => {
  const front = await startFront({ target: { host: '127.0.0.1', port: await deadPort(), tls: false }, h2: true });
  closeAfter(t, front);
  const h = await openH2(front.port);
  t.after(() => h.session.destroy());
  assert.equal(h.headers[':status'], 502);
  assert.equal((JSON.parse(await h.body()) as { code: string }).code, 'SG_ERR_UPSTREAM_CONNECT');
  assert.deepEqual(await front.ended(), [{ outcome: 'connect-failed', status: 502 }]);
});

test('websocket over HTTP/2: a 101 with the wrong Sec-WebSocket-Accept is 502 SG_ERR_UPSTREAM_PROTOCOL', async (t) => {
  const liar = net.createServer((s) => {
    s.on('error', () => undefined);
    s.once('data', () => s.write('HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\nsec-websocket-accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n'));
  });
  const port = await listen(liar);
  t.after(() => closeServer(liar));
  const front = await startFront({ target: { host: '127.0.0.1', port, tls: false }, h2: true });
  closeAfter(t, front);
  const h = await openH2(front.port);
  t.after(() => h.session.destroy());
  assert.equal(h.headers[':status'], 502);
  assert.equal((JSON.parse(await h.body()) as { code: string }).code, 'SG_ERR_UPSTREAM_PROTOCOL');
  assert.deepEqual(await front.ended(), [{ outcome: 'reset', status: 502 }]);
});

test('websocket over HTTP/2: subprotocol and permessage-deflate are negotiated with the pod and compressed frames pass', async (t) => {
  let offered: string[] = [];
  const pod = await startPod(
    {
      perMessageDeflate: { threshold: 0 },
      handleProtocols: (protocols) => {
        offered = [...protocols];
        return 'chat.v1';
      },
    },
    echo,
  );
  const front = await startFront({ target: pod.target, h2: true });
  closeAfter(t, front, pod);
  const h = await openH2(front.port, '/', {
    'sec-websocket-protocol': 'chat.v2, chat.v1',
    'sec-websocket-extensions': 'permessage-deflate; client_max_window_bits',
  });
  t.after(() => h.session.destroy());
  assert.equal(h.headers['sec-websocket-protocol'], 'chat.v1');
  assert.match(String(h.headers['sec-websocket-extensions']), /^permessage-deflate/);
  assert.deepEqual(offered, ['chat.v2', 'chat.v1']);
  // An uncompressed frame is allowed under the extension (RSV1 clear); the pod's echo is compressed.
  h.send(OPCODE.text, Buffer.from('squeeze me'));
  const frame = await h.next();
  assert.equal(frame.rsv1, true, 'the pod sent its echo uncompressed');
  // RFC 7692 section 7.2.2: the sender removed the flush's 00 00 ff ff tail; put it back.
  const inflated = inflateRawSync(Buffer.concat([frame.payload, Buffer.from([0x00, 0x00, 0xff, 0xff])]), { finishFlush: zlib.Z_SYNC_FLUSH });
  assert.equal(inflated.toString(), 'squeeze me');
});

test('websocket over HTTP/2: a client that stops reading holds the pod back (flow control, back-pressure)', async (t) => {
  const total = 48 << 20;
  const pod = await startPod({}, flood(total));
  const front = await startFront({ target: pod.target, h2: true });
  closeAfter(t, front, pod);
  const h = await openH2(front.port);
  t.after(() => h.session.destroy());
  h.stream.pause();
  await waitFor(() => pod.sockets.length === 1);
  const podWs = pod.sockets[0]!;
  await settled(() => podWs.bufferedAmount);
  const proxyStream = front.clients[0]!;
  assert.ok(proxyStream.writableLength < 1 << 20, `the proxy buffered ${proxyStream.writableLength} bytes for the client`);
  assert.ok(podWs.bufferedAmount > 8 << 20, `the pod still holds only ${podWs.bufferedAmount} bytes: nothing held it back`);
  h.stream.resume();
  let frames = 0;
  while (frames < total >> 20) {
    await h.next();
    frames++;
  }
  assert.equal(podWs.bufferedAmount, 0);
});
