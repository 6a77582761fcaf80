import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type { ClientHttp2Session, IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import { test } from 'node:test';
import { Client } from 'undici';
import { startBackends } from '../helpers/backends.js';
import type { H2Backend } from '../helpers/h2-backends.js';
import { TEST_CERT, TEST_KEY, closeH2Backends, h2EndpointSpecs, startH2Backend, startH2Backends } from '../helpers/h2-backends.js';
import { assertNoInflight, send, startProxy } from './harness.js';

interface H2Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly trailers: IncomingHttpHeaders | null;
  readonly text: string;
}

/** One stream on `session`, body read to the end. */
function request(session: ClientHttp2Session, headers: OutgoingHttpHeaders, body?: Buffer | string): Promise<H2Reply> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':path': '/', ...headers }, { endStream: body === undefined });
    let status = 0;
    let responseHeaders: IncomingHttpHeaders = {};
    let trailers: IncomingHttpHeaders | null = null;
    const chunks: Buffer[] = [];
    stream.on('response', (h) => {
      status = Number(h[':status']);
      responseHeaders = h;
    });
    stream.on('trailers', (t: IncomingHttpHeaders) => {
      trailers = t;
    });
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve({ status, headers: responseHeaders, trailers, text: Buffer.concat(chunks).toString() }));
    stream.on('error', reject);
    if (body !== undefined) stream.end(body);
  });
}

function connect(origin: string, options: http2.SecureClientSessionOptions = {}): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(origin, options);
    session.once('connect', () => resolve(session));
    session.once('error', reject);
  });
}

function closeSession(session: ClientHttp2Session): Promise<void> {
  return new Promise((resolve) => session.close(() => resolve()));
}

test('h2c: one connection carrying 100 concurrent streams spreads over every pod, each stream picked on its own', async () => {
  const backends = await startBackends(4);
  const h = await startProxy({ backends, algorithm: 'round-robin', keySource: null });
  const session = await connect(h.origin);
  try {
    const replies = await Promise.all(Array.from({ length: 100 }, () => request(session, {})));
    const counts = new Map<string, number>();
    for (const r of replies) {
      assert.equal(r.status, 200);
      counts.set(r.text, (counts.get(r.text) ?? 0) + 1);
    }
    assert.deepEqual([...counts.entries()].sort(), [['pod-0', 25], ['pod-1', 25], ['pod-2', 25], ['pod-3', 25]]);
    await assertNoInflight(h);
  } finally {
    await closeSession(session);
    await h.stop();
  }
});

test('h2c and HTTP/1.1 on the same listener; a key sends every stream to its owner', async () => {
  const backends = await startBackends(4);
  const h = await startProxy({ backends, algorithm: 'ring-hash' });
  const session = await connect(h.origin);
  const client = new Client(h.origin);
  try {
    const viaH2 = await request(session, { 'x-affinity': 'account-7' });
    const viaH1 = await send(client, '/', { headers: { 'x-affinity': 'account-7' } });
    assert.equal(viaH2.status, 200);
    assert.equal(viaH2.text, viaH1.text, 'both protocols route the key to the same pod');
    assert.equal(viaH2.headers['x-shardgate-endpoint'], viaH2.text);
    const again = await Promise.all(Array.from({ length: 20 }, () => request(session, { 'x-affinity': 'account-7' })));
    assert.ok(again.every((r) => r.text === viaH1.text));
    // The pod saw an HTTP/1.1 request with Host from :authority and this hop's X-Forwarded-*.
    const owner = backends.find((b) => b.name === viaH1.text)!;
    assert.equal(owner.lastHeaders?.host, `127.0.0.1:${h.port}`);
    assert.equal(owner.lastHeaders?.['x-forwarded-proto'], 'http');
  } finally {
    await closeSession(session);
    await client.close();
    await h.stop();
  }
});

test('h2c: request bodies stream to the pod and back byte for byte', async () => {
  const backends = await startBackends(2, 'pod', (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => res.end(Buffer.concat(chunks)));
  });
  const h = await startProxy({ backends, algorithm: 'round-robin', keySource: null });
  const session = await connect(h.origin);
  try {
    const body = Buffer.alloc(3 * 1024 * 1024, 'abcdefgh');
    const r = await request(session, { ':method': 'POST' }, body);
    assert.equal(r.status, 200);
    assert.equal(r.text.length, body.length);
    assert.ok(Buffer.from(r.text).equals(body));
    await assertNoInflight(h);
  } finally {
    await closeSession(session);
    await h.stop();
  }
});

test('TLS listener: ALPN gives h2 to HTTP/2 clients and http/1.1 to the rest; X-Forwarded-Proto is https', async () => {
  const backends = await startBackends(2);
  const h = await startProxy({ backends, algorithm: 'round-robin', keySource: null, proxy: { tls: { cert: TEST_CERT, key: TEST_KEY } } });
  const session = await connect(h.origin, { ca: TEST_CERT });
  try {
    const r = await request(session, {});
    assert.equal(r.status, 200);
    assert.equal(session.alpnProtocol, 'h2');
    const h1 = await new Promise<{ status: number; text: string; alpn: string | false | null }>((resolve, reject) => {
      const req = https.get(`${h.origin}/`, { ca: TEST_CERT, ALPNProtocols: ['http/1.1'] } as https.RequestOptions, (res) => {
        let text = '';
        const alpn = (res.socket as unknown as { alpnProtocol: string | false }).alpnProtocol;
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text, alpn }));
      });
      req.on('error', reject);
    });
    assert.equal(h1.status, 200);
    assert.equal(h1.alpn, 'http/1.1');
    assert.ok(backends.some((b) => b.lastHeaders?.['x-forwarded-proto'] === 'https'));
  } finally {
    await closeSession(session);
    await h.stop();
  }
});

test('h2c:// endpoints: streams multiplexed over a bounded number of sessions, trailers passed through', async () => {
  const pods = await startH2Backends(2);
  const h = await startProxy({ endpoints: h2EndpointSpecs(pods), algorithm: 'round-robin', keySource: null, proxy: { maxUpstreamSessions: 1 } });
  const client = new Client(h.origin);
  const session = await connect(h.origin);
  try {
    const replies = await Promise.all(Array.from({ length: 40 }, () => request(session, { ':method': 'POST' }, 'ping')));
    assert.ok(replies.every((r) => r.status === 200 && r.text === 'ping'));
    assert.deepEqual(
      replies.map((r) => r.trailers?.['x-trailer']).sort(),
      replies.map((r) => r.headers['x-backend']).sort(),
      'each stream carries its pod\'s trailer',
    );
    for (const pod of pods) {
      assert.equal(pod.requests, 20);
      assert.equal(pod.sessions.size, 1, `${pod.name}: one session for 20 streams`);
    }
    // An HTTP/1.1 client reaches an HTTP/2 pod too.
    const r = await send(client, '/', { method: 'GET' });
    assert.equal(r.status, 200);
    assert.match(r.text, /^pod-\d$/);
    await assertNoInflight(h);
  } finally {
    await closeSession(session);
    await client.close();
    await h.stop();
    await closeH2Backends(pods);
  }
});

test('h2:// endpoints over TLS, with the CA the proxy is given', async () => {
  const pod = await startH2Backend('pod-0', { tls: true });
  const h = await startProxy({ endpoints: h2EndpointSpecs([pod]), algorithm: 'round-robin', keySource: null, proxy: { upstreamTls: { ca: TEST_CERT } } });
  const client = new Client(h.origin);
  try {
    const r = await send(client, '/');
    assert.equal(r.status, 200);
    assert.equal(r.text, 'pod-0');
  } finally {
    await client.close();
    await h.stop();
    await closeH2Backends([pod]);
  }
});

test('h2c:// endpoint that refuses streams (REFUSED_STREAM) answers 503 SG_ERR_UPSTREAM_REFUSED without retries configured', async () => {
  let refused = 0;
  const pod: H2Backend = await startH2Backend('pod-0', {
    handler: (stream) => {
      refused++;
      stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
    },
  });
  const h = await startProxy({ endpoints: h2EndpointSpecs([pod]), algorithm: 'round-robin', keySource: null });
  const client = new Client(h.origin);
  try {
    const r = await send(client, '/');
    assert.equal(r.status, 503);
    assert.equal((JSON.parse(r.text) as { code: string }).code, 'SG_ERR_UPSTREAM_REFUSED');
    assert.equal(refused, 1);
    await assertNoInflight(h);
  } finally {
    await client.close();
    await h.stop();
    await closeH2Backends([pod]);
  }
});

test('h2c:// endpoint that is down: 502 connect failure, and the session is not kept', async () => {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  const h = await startProxy({ endpoints: [{ name: 'pod-0', address: `h2c://127.0.0.1:${port}` }], algorithm: 'round-robin', keySource: null });
  const client = new Client(h.origin);
  try {
    for (let i = 0; i < 2; i++) {
      const r = await send(client, '/');
      assert.equal(r.status, 502);
      assert.equal((JSON.parse(r.text) as { code: string }).code, 'SG_ERR_UPSTREAM_CONNECT');
    }
    await assertNoInflight(h);
  } finally {
    await client.close();
    await h.stop();
  }
});

test('a client whose HTTP/2 preface arrives in two pieces is still served over h2c', async () => {
  const backends = await startBackends(1);
  const h = await startProxy({ backends, algorithm: 'round-robin', keySource: null });
  // A relay that delivers the client's first 5 bytes, then the rest 20 ms later: the listener must
  // wait for the whole preface before it chooses a protocol.
  const relay = net.createServer((client) => {
    const upstream = net.connect(h.port, '127.0.0.1');
    let first = true;
    client.on('data', (chunk: Buffer) => {
      if (first) {
        first = false;
        upstream.write(chunk.subarray(0, 5));
        client.pause();
        setTimeout(() => {
          upstream.write(chunk.subarray(5));
          client.resume();
        }, 20);
        return;
      }
      upstream.write(chunk);
    });
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
  const session = await connect(`http://127.0.0.1:${(relay.address() as net.AddressInfo).port}`);
  try {
    const r = await request(session, {});
    assert.equal(r.status, 200);
    assert.equal(r.text, 'pod-0');
  } finally {
    await closeSession(session);
    await new Promise<void>((r) => relay.close(() => r()));
    await h.stop();
  }
});
