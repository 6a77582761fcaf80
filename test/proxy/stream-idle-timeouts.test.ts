/**
 * The HTTP/2 stream idle timeout (src/proxy/stream-idle-timeouts.ts): a stream without progress
 * either way is reset; one that keeps moving, however slowly, is not.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startBackends } from '../helpers/backends.js';
import { answerOf, closeSession, connectH2, requestH2 } from '../helpers/h2-client.js';
import { assertNoInflight, startProxy, waitFor } from './harness.js';

const IDLE_MS = 200;

test('a stream whose pod never answers is reset with CANCEL after the idle timeout; the session serves on', { timeout: 10_000 }, async () => {
  const backends = await startBackends(1, 'pod', (req, res) => {
    req.resume();
    if (req.url !== '/hang') res.end('ok');
  });
  const h = await startProxy({ backends, algorithm: 'round-robin', keySource: null, timeouts: { streamIdleMs: IDLE_MS } });
  const session = await connectH2(h.origin);
  try {
    const stream = session.request({ ':path': '/hang' });
    const closed = new Promise<number | undefined>((resolve) => stream.once('close', () => resolve(stream.rstCode)));
    stream.on('error', () => undefined);
    stream.resume();
    await waitFor(() => h.board.totalInflight === 1, 'the request at the pod');
    assert.equal(await closed, http2.constants.NGHTTP2_CANCEL);
    await assertNoInflight(h);
    assert.equal((await requestH2(session, { ':path': '/next' })).status, 200);
  } finally {
    await closeSession(session);
    await h.stop();
  }
});

test('an upload that keeps moving, slower than the idle timeout in all, is not cut', { timeout: 10_000 }, async () => {
  const backends = await startBackends(1, 'pod', (req, res) => {
    let n = 0;
    req.on('data', (c: Buffer) => (n += c.length));
    req.on('end', () => res.end(`read ${n}`));
  });
  const h = await startProxy({ backends, algorithm: 'round-robin', keySource: null, timeouts: { streamIdleMs: IDLE_MS } });
  const session = await connectH2(h.origin);
  try {
    const stream = session.request({ ':method': 'POST', ':path': '/up' }, { endStream: false });
    const answer = answerOf(stream);
    // Eight chunks, each well within the timeout of the one before, 2.8 timeouts in all.
    for (let i = 0; i < 8; i++) {
      stream.write('0123456789');
      await sleep(IDLE_MS * 0.35);
    }
    stream.end();
    const a = await answer;
    assert.equal(a.status, 200);
    assert.equal(a.body.toString(), 'read 80');
  } finally {
    await closeSession(session);
    await h.stop();
  }
});

test('a response that keeps moving, slower than the idle timeout in all, is not cut', { timeout: 10_000 }, async () => {
  const backends = await startBackends(1, 'pod', (req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain' });
    let i = 0;
    const next = (): void => {
      if (++i > 8) {
        res.end();
        return;
      }
      res.write('tick,');
      setTimeout(next, IDLE_MS * 0.35);
    };
    next();
  });
  const h = await startProxy({ backends, algorithm: 'round-robin', keySource: null, timeouts: { streamIdleMs: IDLE_MS } });
  const session = await connectH2(h.origin);
  try {
    const a = await requestH2(session, { ':path': '/ticks' });
    assert.equal(a.body.toString(), 'tick,'.repeat(8));
  } finally {
    await closeSession(session);
    await h.stop();
  }
});
