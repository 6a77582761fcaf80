/**
 * The maximum client connection age (src/proxy/connection-age.ts), end to end: two proxies behind
 * a connection-level balancer like a ClusterIP Service's (the demo's iptables forwarder), one
 * keep-alive client, over HTTP/1.1 and over HTTP/2. With an age its requests reach both proxies and
 * none is lost, also those in flight when the age passes; without one the client stays on one.
 * Proxy A routes to pod a, proxy B to pod b, so the endpoint header names the proxy.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type { ClientHttp2Session } from 'node:http2';
import { test } from 'node:test';
import { Pool } from 'undici';
import { seededRng } from '../../src/balancer/rng.js';
import { AGE_JITTER, jitteredAgeMs } from '../../src/proxy/connection-age.js';
import type { ProxyTimeouts } from '../../src/proxy/proxy.js';
import { IptablesForwarder } from '../../src/demo/iptables-forwarder.js';
import type { BackendHandler } from '../helpers/backends.js';
import { startBackend } from '../helpers/backends.js';
import WebSocket from 'ws';
import type { Harness } from './harness.js';
import { assertNoInflight, send, startProxy } from './harness.js';
import { closed, nextMessage, startPod } from './websocket-harness.js';

/** Answers with its name after `?ms=N` milliseconds (10 by default). */
const delayed: BackendHandler = (req, res, backend) => {
  const ms = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('ms') ?? '10');
  req.resume();
  const timer = setTimeout(() => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(backend.name);
  }, ms);
  res.on('close', () => clearTimeout(timer));
};

interface Fleet {
  readonly proxies: readonly Harness[];
  readonly forwarder: IptablesForwarder;
  /** The forwarder's address: what clients of a ClusterIP Service dial. */
  readonly origin: string;
  connections(): number;
  stop(): Promise<void>;
}

async function fleet(timeouts: Partial<ProxyTimeouts>, seed = 7): Promise<Fleet> {
  const proxies: Harness[] = [];
  for (const [i, name] of ['a', 'b'].entries()) {
    const backend = await startBackend(name, delayed);
    proxies.push(await startProxy({ backends: [backend], algorithm: 'round-robin', keySource: null, timeouts, proxy: { rng: seededRng(seed + i) } }));
  }
  const forwarder = new IptablesForwarder(
    proxies.map((p, i) => ({ name: `proxy-${i}`, host: '127.0.0.1', port: p.port })),
    seededRng(seed),
  );
  const { host, port } = await forwarder.listen(0, '127.0.0.1');
  return {
    proxies,
    forwarder,
    origin: `http://${host}:${port}`,
    connections: () => forwarder.stats.connections.reduce((a, b) => a + b, 0),
    stop: async () => {
      await forwarder.close();
      for (const p of proxies) await p.stop();
    },
  };
}

class RefusedStream extends Error {}

function noop(): void {}

/** The fleet cut one connection at the end of its grace period, and every pick was ended. */
async function assertOneCut(f: Fleet): Promise<void> {
  assert.equal(f.proxies.reduce((n, p) => n + (p.proxy.connectionAge?.cut ?? 0), 0), 1, 'connections cut');
  for (const p of f.proxies) await assertNoInflight(p);
}

/** One HTTP/2 connection at a time, as a keep-alive h2 client holds it: a new one once GOAWAY comes. */
class H2Client {
  readonly #origin: string;
  readonly #all = new Set<ClientHttp2Session>();
  #session: ClientHttp2Session | null = null;
  readonly sessionErrors: string[] = [];
  goaways = 0;
  /** Streams refused because they raced a GOAWAY, and sent again. */
  refused = 0;

  constructor(origin: string) {
    this.#origin = origin;
  }

  get sessions(): number {
    return this.#all.size;
  }

  #current(): ClientHttp2Session {
    const live = this.#session;
    if (live !== null && !live.closed && !live.destroyed) return live;
    const s = http2.connect(this.#origin);
    s.on('error', (err: Error) => this.sessionErrors.push(err.message));
    // Node's client closes the session itself on a NO_ERROR GOAWAY: its streams finish, new
    // requests go to a new connection.
    s.on('goaway', () => {
      this.goaways++;
      if (this.#session === s) this.#session = null;
    });
    this.#all.add(s);
    this.#session = s;
    return s;
  }

  /**
   * One request. A stream refused because it raced a GOAWAY (REFUSED_STREAM) was not processed,
   * and is sent again on a new connection, as gRPC and Go's HTTP/2 client do by themselves.
   */
  async request(path: string): Promise<{ status: number; endpoint: string; body: string }> {
    for (;;) {
      try {
        return await this.#once(path);
      } catch (err) {
        if (!(err instanceof RefusedStream)) throw err;
        this.refused++;
      }
    }
  }

  #once(path: string): Promise<{ status: number; endpoint: string; body: string }> {
    return new Promise((resolve, reject) => {
      const stream = this.#current().request({ ':path': path });
      let status = 0;
      let endpoint = '';
      let body = '';
      let ended = false;
      stream.on('response', (headers) => {
        status = Number(headers[':status']);
        endpoint = String(headers['x-shardgate-endpoint']);
      });
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => (body += chunk));
      stream.on('end', () => (ended = true));
      stream.on('error', noop);
      stream.on('close', () => {
        if (ended && status !== 0) resolve({ status, endpoint, body });
        else if (stream.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM) reject(new RefusedStream());
        else reject(new Error(`stream ${path} closed before its response ended (RST_STREAM code ${String(stream.rstCode)})`));
      });
    });
  }

  close(): void {
    for (const s of this.#all) s.destroy();
  }
}

test('connection age: each connection lives the age ± 10 %, spread over the whole band', () => {
  const rng = seededRng(42);
  const ages = Array.from({ length: 10_000 }, () => jitteredAgeMs(60_000, rng));
  const min = Math.min(...ages);
  const max = Math.max(...ages);
  assert.ok(min >= 60_000 * (1 - AGE_JITTER), `shortest ${min}`);
  assert.ok(max <= 60_000 * (1 + AGE_JITTER), `longest ${max}`);
  // Spread, not a constant: both ends of the band are reached, and the middle holds about half.
  assert.ok(min < 54_100 && max > 65_900, `from ${min} to ${max}`);
  const middle = ages.filter((a) => a >= 57_000 && a <= 63_000).length;
  assert.ok(middle > 4_500 && middle < 5_500, `${middle} of 10000 within ±5 %`);
  assert.equal(jitteredAgeMs(1, seededRng(1)), 1, 'never below 1 ms');
});

test('connection age, HTTP/1.1: without it one keep-alive client stays on one proxy of the fleet', async (t) => {
  const f = await fleet({});
  t.after(() => f.stop());
  const pool = new Pool(f.origin, { connections: 1, pipelining: 1 });
  t.after(() => pool.close());
  const seen = new Map<string, number>();
  for (let i = 0; i < 40; i++) {
    const r = await send(pool, '/?ms=10');
    assert.equal(r.status, 200);
    const e = String(r.headers['x-shardgate-endpoint']);
    seen.set(e, (seen.get(e) ?? 0) + 1);
  }
  assert.equal(seen.size, 1, `one connection, one proxy: ${JSON.stringify([...seen])}`);
  assert.equal(f.connections(), 1);
});

test('connection age, HTTP/1.1: one keep-alive client (an undici Pool of 1 connection) reaches both proxies, and loses no request', async (t) => {
  const f = await fleet({ maxConnectionAgeMs: 150, maxConnectionAgeGraceMs: 5_000 });
  t.after(() => f.stop());
  const pool = new Pool(f.origin, { connections: 1, pipelining: 1 });
  t.after(() => pool.close());
  const seen = new Map<string, number>();
  let closes = 0;
  // About 2 s of requests, each under way for 25 ms of it: many are in flight when an age passes.
  for (let i = 0; i < 80; i++) {
    const r = await send(pool, '/?ms=25');
    assert.equal(r.status, 200, `request ${i}: ${r.text}`);
    const e = String(r.headers['x-shardgate-endpoint']);
    seen.set(e, (seen.get(e) ?? 0) + 1);
    // The last response may say close too, but no request follows it to reconnect.
    if (r.headers.connection === 'close' && i < 79) closes++;
  }
  assert.deepEqual([...seen.keys()].sort(), ['a', 'b'], `requests per proxy: ${JSON.stringify([...seen])}`);
  assert.ok(closes >= 3, `${closes} responses said Connection: close`);
  assert.equal(f.connections(), closes + 1, 'each Connection: close, and nothing else, made the client reconnect');
  assert.equal(f.forwarder.stats.reset, 0, 'no connection was cut');
  for (const p of f.proxies) await assertNoInflight(p);
});

test('connection age, HTTP/1.1: a request in flight when the age passes finishes, and its response closes the connection', async (t) => {
  const f = await fleet({ maxConnectionAgeMs: 100, maxConnectionAgeGraceMs: 5_000 });
  t.after(() => f.stop());
  const pool = new Pool(f.origin, { connections: 1, pipelining: 1 });
  t.after(() => pool.close());
  const first = await send(pool, '/?ms=1');
  assert.equal(first.headers.connection, 'keep-alive');
  // Under way from before the age (90 to 110 ms) until well after it.
  const slow = await send(pool, '/?ms=400');
  assert.equal(slow.status, 200);
  assert.equal(slow.text, first.text, 'served where it was sent');
  assert.equal(slow.headers.connection, 'close');
  await send(pool, '/?ms=1');
  assert.equal(f.connections(), 2, 'the next request came over a new connection');
});

test('connection age, HTTP/1.1: past the grace period a response still under way is cut', async (t) => {
  const f = await fleet({ maxConnectionAgeMs: 100, maxConnectionAgeGraceMs: 200 });
  t.after(() => f.stop());
  const pool = new Pool(f.origin, { connections: 1, pipelining: 1 });
  t.after(() => pool.close());
  await assert.rejects(send(pool, '/?ms=3000'), (err: Error & { code?: string }) => /UND_ERR_SOCKET/.test(err.code ?? ''));
  await assertOneCut(f);
});

test('connection age, HTTP/2: one h2 client reaches both proxies through GOAWAY, and loses no stream, also those open at the age', async (t) => {
  const f = await fleet({ maxConnectionAgeMs: 150, maxConnectionAgeGraceMs: 5_000 });
  t.after(() => f.stop());
  const client = new H2Client(f.origin);
  t.after(() => client.close());
  const seen = new Map<string, number>();
  let failed = 0;
  // Four streams at a time on the one connection for about 2 s; one long stream spans an age.
  const loop = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i++) {
      try {
        const r = await client.request('/?ms=20');
        assert.equal(r.status, 200);
        seen.set(r.endpoint, (seen.get(r.endpoint) ?? 0) + 1);
      } catch (err) {
        failed++;
        throw err;
      }
    }
  };
  const long = client.request('/?ms=400');
  await Promise.all([loop(70), loop(70), loop(70), loop(70)]);
  const slow = await long;
  assert.equal(slow.status, 200, 'the stream open when its connection reached its age finished');
  assert.equal(failed, 0);
  assert.deepEqual([...seen.keys()].sort(), ['a', 'b'], `streams per proxy: ${JSON.stringify([...seen])}`);
  assert.ok(client.goaways >= 3, `${client.goaways} GOAWAYs`);
  assert.ok(client.sessions >= 4, `${client.sessions} sessions`);
  assert.deepEqual(client.sessionErrors, []);
  t.diagnostic(`${client.sessions} sessions, ${client.goaways} GOAWAYs, ${client.refused} streams refused and sent again, per proxy ${JSON.stringify([...seen])}`);
  assert.ok(client.refused <= client.goaways * 4, `${client.refused} streams refused: only those that raced a GOAWAY`);
  assert.equal(f.forwarder.stats.reset, 0, 'no connection was cut');
  for (const p of f.proxies) await assertNoInflight(p);
});

test('connection age, HTTP/2: past the grace period a stream still open is cut with its session', async (t) => {
  const f = await fleet({ maxConnectionAgeMs: 100, maxConnectionAgeGraceMs: 200 });
  t.after(() => f.stop());
  const client = new H2Client(f.origin);
  t.after(() => client.close());
  await assert.rejects(client.request('/?ms=3000'), /closed before its response ended/);
  await assertOneCut(f);
});

test('connection age: an HTTP/1.1 connection upgraded to a WebSocket is a tunnel, and outlives age and grace', async (t) => {
  const pod = await startPod();
  const h = await startProxy({ endpoints: [{ name: 'pod-0', address: `127.0.0.1:${pod.port}` }], algorithm: 'round-robin', keySource: null, timeouts: { maxConnectionAgeMs: 50, maxConnectionAgeGraceMs: 50 } });
  t.after(async () => {
    await h.stop();
    await pod.close();
  });
  const ws = new WebSocket(`ws://127.0.0.1:${h.port}/chat`);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  // Well past age + grace (at most 105 ms): a connection still aged would have been cut by now.
  await new Promise((resolve) => setTimeout(resolve, 400));
  const done = closed(ws);
  assert.equal(ws.readyState, WebSocket.OPEN, 'the tunnel was closed');
  ws.send('still here');
  const echoed = await Promise.race([nextMessage(ws), done.then((c) => assert.fail(`the tunnel closed: ${JSON.stringify(c)}`))]);
  assert.equal(echoed.data.toString(), 'still here');
  assert.equal(h.proxy.connectionAge?.cut, 0);
  ws.close(1000, 'bye');
  assert.deepEqual(await done, { code: 1000, reason: 'bye' });
  await assertNoInflight(h);
});
