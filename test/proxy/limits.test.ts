/** The proxy's limits against real clients: body size, header count, client connections. */
import assert from 'node:assert/strict';
import net from 'node:net';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { Client } from 'undici';
import { startBackends } from '../helpers/backends.js';
import { rawExchange } from '../helpers/raw-http.js';
import { assertNoInflight, send, startProxy, waitFor } from './harness.js';

test('maxBodyBytes: a declared or streamed body over the limit gets 413 and never reaches a pod whole', async () => {
  let completeBodies = 0;
  const backends = await startBackends(1, 'pod', (req, res) => {
    let n = 0;
    req.on('data', (c: Buffer) => (n += c.length));
    req.on('end', () => {
      completeBodies++;
      res.end(String(n));
    });
    req.on('error', () => undefined);
  });
  const h = await startProxy({ backends, algorithm: 'round-robin', keySource: null, proxy: { maxBodyBytes: 1000 } });
  try {
    const a = new Client(h.origin);
    assert.equal((await send(a, '/', { method: 'POST', body: 'x'.repeat(1000) })).text, '1000', 'at the limit: forwarded');
    const declared = await send(a, '/', { method: 'POST', body: 'x'.repeat(1001) });
    assert.equal(declared.status, 413);
    await a.close();
    const b = new Client(h.origin);
    const streamed = await send(b, '/', { method: 'POST', body: Readable.from(['y'.repeat(600), 'y'.repeat(600)]) });
    assert.equal(streamed.status, 413);
    assert.equal((JSON.parse(streamed.text) as { code: string }).code, 'SG_ERR_BODY_TOO_LARGE');
    await b.close();
    assert.equal(completeBodies, 1, 'only the body within the limit arrived complete');
    await assertNoInflight(h);
  } finally {
    await h.stop();
  }
});

test('maxHeaderCount: a head with more fields than allowed gets 431', async () => {
  const backends = await startBackends(1);
  const h = await startProxy({ backends, algorithm: 'round-robin', keySource: null, proxy: { maxHeaderCount: 20 } });
  try {
    const fields = (n: number): string => Array.from({ length: n }, (_, i) => `x-f${i}: v\r\n`).join('');
    const ok = await rawExchange(h.port, `GET / HTTP/1.1\r\nHost: a\r\n${fields(18)}Connection: close\r\n\r\n`);
    assert.match(ok.text, /^HTTP\/1\.1 200 /);
    const tooMany = await rawExchange(h.port, `GET / HTTP/1.1\r\nHost: a\r\n${fields(30)}\r\n`);
    assert.match(tooMany.text, /^HTTP\/1\.1 431 /);
  } finally {
    await h.stop();
  }
});

test('maxConnections: connections beyond the limit are closed at once; the others are served', async () => {
  const backends = await startBackends(1);
  const h = await startProxy({ backends, algorithm: 'round-robin', keySource: null, proxy: { maxConnections: 2 } });
  const sockets: net.Socket[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      const s = net.connect(h.port, '127.0.0.1');
      await new Promise((r) => s.once('connect', r));
      sockets.push(s);
    }
    const third = net.connect(h.port, '127.0.0.1');
    sockets.push(third);
    let thirdClosed = false;
    third.on('close', () => (thirdClosed = true));
    third.on('error', () => undefined);
    await waitFor(() => thirdClosed, 'the third connection to be closed');
    const first = sockets[0]!;
    const reply = await new Promise<string>((resolve) => {
      let text = '';
      first.on('data', (c: Buffer) => {
        text += c.toString();
        if (text.includes('pod-0')) resolve(text);
      });
      first.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    });
    assert.match(reply, /^HTTP\/1\.1 200 /);
  } finally {
    for (const s of sockets) s.destroy();
    await h.stop();
  }
});
