/**
 * HTTP/2 client requests as the front reads them from the session's 'stream' event
 * (src/proxy/h2-stream-request.ts, node-front.ts): whether there is a body, what the pod is told of
 * the client, and the `Expect` field.
 */
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { test } from 'node:test';
import { startBackends } from '../helpers/backends.js';
import type { Backend } from '../helpers/backends.js';
import { closeH2Backends, h2EndpointSpecs, startH2Backends } from '../helpers/h2-backends.js';
import { answerOf, closeSession, connectH2, requestH2 } from '../helpers/h2-client.js';
import { assertNoInflight, startProxy } from './harness.js';

/** A pod that echoes the body it read and remembers each request's head and body size. */
async function echoPod(): Promise<{ backends: Backend[]; seen: { headers: IncomingHttpHeaders; bytes: number }[] }> {
  const seen: { headers: IncomingHttpHeaders; bytes: number }[] = [];
  const backends = await startBackends(1, 'pod', (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.push({ headers: req.headers, bytes: body.length });
      res.end(body);
    });
  });
  return { backends, seen };
}

test('a request whose HEADERS end the stream reaches the pod as one without a body; one with DATA brings it whole', { timeout: 10_000 }, async () => {
  // An h2c pod, which can tell a request without a body from one whose body is empty.
  const seen: { endAfterHeaders: boolean; bytes: number }[] = [];
  const backends = await startH2Backends(1, {
    handler: (stream) => {
      const endAfterHeaders = stream.endAfterHeaders;
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        seen.push({ endAfterHeaders, bytes: Buffer.concat(chunks).length });
        stream.respond({ ':status': 200 });
        stream.end(Buffer.concat(chunks));
      });
    },
  });
  const h = await startProxy({ endpoints: h2EndpointSpecs(backends), algorithm: 'round-robin', keySource: null });
  const session = await connectH2(h.origin);
  try {
    const get = await requestH2(session, { ':path': '/a' });
    const emptyPost = await requestH2(session, { ':method': 'POST', ':path': '/b' });
    const post = await requestH2(session, { ':method': 'POST', ':path': '/c' }, 'hello over h2');
    assert.deepEqual([get.status, emptyPost.status, post.status], [200, 200, 200]);
    assert.equal(post.body.toString(), 'hello over h2');
    assert.deepEqual(seen, [
      { endAfterHeaders: true, bytes: 0 },
      { endAfterHeaders: true, bytes: 0 },
      { endAfterHeaders: false, bytes: 'hello over h2'.length },
    ]);
    await assertNoInflight(h);
  } finally {
    await closeSession(session);
    await h.stop();
    await closeH2Backends(backends);
  }
});

test('the pod is told the client address of the HTTP/2 connection and the :authority as Host', { timeout: 10_000 }, async () => {
  const { backends, seen } = await echoPod();
  const h = await startProxy({ backends, algorithm: 'round-robin', keySource: null });
  const session = await connectH2(h.origin);
  try {
    await requestH2(session, { ':path': '/x', ':authority': 'shop.example:8080', 'x-forwarded-for': '203.0.113.9' });
    await requestH2(session, { ':path': '/y', ':authority': 'shop.example:8080' });
    assert.equal(seen[0]!.headers['x-forwarded-for'], '203.0.113.9, 127.0.0.1');
    assert.equal(seen[1]!.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen[1]!.headers.host, 'shop.example:8080');
  } finally {
    await closeSession(session);
    await h.stop();
  }
});

test('Expect: 100-continue over HTTP/2: the 100 comes once the proxy forwards the body, which then arrives whole', { timeout: 10_000 }, async () => {
  const { backends, seen } = await echoPod();
  const h = await startProxy({ backends, algorithm: 'round-robin', keySource: null });
  const session = await connectH2(h.origin);
  try {
    const stream = session.request({ ':method': 'POST', ':path': '/up', expect: '100-continue', 'content-length': '12' }, { endStream: false });
    const answer = answerOf(stream);
    // The client holds its body back until it is invited.
    await new Promise<void>((resolve) => stream.once('continue', resolve));
    stream.end('twelve bytes');
    const a = await answer;
    assert.equal(a.status, 200);
    assert.equal(a.body.toString(), 'twelve bytes');
    assert.equal(seen[0]!.headers.expect, undefined, 'Expect is answered at this hop, not forwarded');
    await assertNoInflight(h);
  } finally {
    await closeSession(session);
    await h.stop();
  }
});

test('Expect: 100-continue over HTTP/2 on a request the proxy refuses: the answer, never a 100', { timeout: 10_000 }, async () => {
  const { backends, seen } = await echoPod();
  const h = await startProxy({ backends, algorithm: 'round-robin', keySource: null, proxy: { maxBodyBytes: 100 } });
  const session = await connectH2(h.origin);
  try {
    const stream = session.request({ ':method': 'POST', ':path': '/up', expect: '100-continue', 'content-length': '1000' }, { endStream: false });
    let invited = false;
    stream.on('continue', () => (invited = true));
    stream.on('response', () => stream.close());
    const a = await answerOf(stream);
    assert.equal(a.status, 413);
    assert.equal(invited, false);
    assert.equal(seen.length, 0);
  } finally {
    await closeSession(session);
    await h.stop();
  }
});

test('an expectation other than 100-continue gets 417 and never reaches a pod', { timeout: 10_000 }, async () => {
  const { backends, seen } = await echoPod();
  const h = await startProxy({ backends, algorithm: 'round-robin', keySource: null });
  const session = await connectH2(h.origin);
  try {
    const a = await requestH2(session, { ':path': '/x', expect: 'something-else' });
    assert.equal(a.status, 417);
    assert.equal(seen.length, 0);
    // The session serves on, and the 100-continue check ignores case (RFC 9110 section 10.1.1).
    const stream = session.request({ ':method': 'POST', ':path': '/y', expect: '100-Continue' }, { endStream: false });
    const answer = answerOf(stream);
    await new Promise<void>((resolve) => stream.once('continue', resolve));
    stream.end('ok');
    assert.equal((await answer).body.toString(), 'ok');
  } finally {
    await closeSession(session);
    await h.stop();
  }
});
