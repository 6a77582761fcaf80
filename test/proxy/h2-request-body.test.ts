/**
 * HTTP/2 request bodies as the proxy forwards them (src/proxy/h2-request-body.ts): the pod has the
 * whole body before the response goes back on the same stream, a body cut short by a reset is
 * never taken for a whole one, and a body nobody reads stays in the client's window.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startBackends } from '../helpers/backends.js';
import { answerOf, closeSession, connectH2 } from '../helpers/h2-client.js';
import { uploadH2 } from '../helpers/upload.js';
import { assertNoInflight, startProxy, waitFor } from './harness.js';

const MB = 1_048_576;

test('a body the pod reads whole before it answers: the response comes back on the stream that sent it', { timeout: 10_000 }, async () => {
  // undici is done with a body once it has sent it; the stream that carried it must live on.
  const backends = await startBackends(1, 'pod', (req, res) => {
    let n = 0;
    req.on('data', (c: Buffer) => (n += c.length));
    req.on('end', () => setTimeout(() => res.end(`read ${n}`), 20));
  });
  const h = await startProxy({ backends, algorithm: 'round-robin', keySource: null });
  const session = await connectH2(h.origin);
  try {
    const answers = await Promise.all(
      [1, 70_000, 3 * MB].map((size) => {
        const stream = session.request({ ':method': 'POST', ':path': '/up' }, { endStream: false });
        const answer = answerOf(stream);
        stream.end(Buffer.alloc(size, 0x61));
        return answer;
      }),
    );
    assert.deepEqual(
      answers.map((a) => [a.status, a.body.toString()]),
      [
        [200, 'read 1'],
        [200, 'read 70000'],
        [200, `read ${3 * MB}`],
      ],
    );
    await assertNoInflight(h);
  } finally {
    await closeSession(session);
    await h.stop();
  }
});

for (const how of ['NO_ERROR', 'INTERNAL_ERROR'] as const) {
  test(`a client that resets its stream mid-body (RST_STREAM ${how}): the pod never gets the body as a whole one`, { timeout: 10_000 }, async () => {
    let whole = 0;
    let aborted = 0;
    let received = 0;
    const backends = await startBackends(1, 'pod', (req, res) => {
      req.on('data', (c: Buffer) => (received += c.length));
      req.on('end', () => {
        whole++;
        res.end('whole');
      });
      req.on('error', () => undefined);
      req.on('close', () => {
        if (!req.complete) aborted++;
      });
    });
    const h = await startProxy({ backends, algorithm: 'round-robin', keySource: null });
    const session = await connectH2(h.origin);
    try {
      // No length declared: the pod gets it chunked, and only the end of the stream ends it.
      const stream = session.request({ ':method': 'POST', ':path': '/up' }, { endStream: false });
      stream.on('error', () => undefined);
      stream.write(Buffer.alloc(10_000, 0x61));
      await waitFor(() => received >= 10_000, 'the first bytes at the pod');
      // destroy() resets without END_STREAM (close() would end the body first, then reset).
      if (how === 'NO_ERROR') stream.destroy();
      else stream.destroy(new Error('the client gave up'));
      await waitFor(() => aborted === 1, 'the pod request to be aborted');
      assert.equal(whole, 0);
      await assertNoInflight(h);
    } finally {
      await closeSession(session);
      await h.stop();
    }
  });
}

test('HTTP/2 client: a body toward an HTTP/1.1 pod that does not read stays in the client window', { timeout: 20_000 }, async () => {
  const backends = await startBackends(1, 'pod', (req) => req.pause());
  // The upload is still under way at the end: cut it rather than wait out the grace period.
  const h = await startProxy({ backends, algorithm: 'round-robin', keySource: null, timeouts: { shutdownGraceMs: 100 } });
  try {
    const p = await uploadH2(h.port, '/up', {}, { bytes: 96 * MB });
    assert.ok(p.stalled, `the client sent all ${p.sent} bytes without being held back`);
    // Socket buffers on both sides of every hop on loopback come to about 10 MB.
    assert.ok(p.sent < 40 * MB, `the client handed over ${(p.sent / MB).toFixed(1)} MB before it was held back`);
  } finally {
    await h.stop();
  }
});
