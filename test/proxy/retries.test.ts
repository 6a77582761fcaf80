import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type { ServerHttp2Stream } from 'node:http2';
import { test } from 'node:test';
import { Client, Pool } from 'undici';
import { hashKey } from '../../src/balancer/hash.js';
import type { HashingBalancer } from '../../src/balancer/hashing-balancer.js';
import { ConfigError } from '../../src/errors.js';
import type { RetryBudgetLike, RetryOptions } from '../../src/proxy/retries.js';
import { DEFAULT_RETRY_OPTIONS, Retrier, parseRetryOn } from '../../src/proxy/retries.js';
import { closedPort, startBackend, startBackends } from '../helpers/backends.js';
import { closeH2Backends, h2EndpointSpecs, startH2Backend } from '../helpers/h2-backends.js';
import { assertNoInflight, recordExchanges, send, startProxy } from './harness.js';

/** A budget that always allows, counting what it was asked. */
function openBudget(): RetryBudgetLike & { acquired: number; released: number } {
  return {
    acquired: 0,
    released: 0,
    tryAcquire() {
      this.acquired++;
      return true;
    },
    release() {
      this.released++;
    },
  };
}

function retrier(options: Partial<RetryOptions> = {}, budget: RetryBudgetLike = openBudget()): Retrier {
  return new Retrier({ ...DEFAULT_RETRY_OPTIONS, ...options }, budget);
}

test('a connect failure is retried on another endpoint for any method, with the streamed body intact', async () => {
  const echo = await startBackend('pod-live', (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => res.end(Buffer.concat(chunks)));
  });
  const dead = await closedPort();
  const budget = openBudget();
  // Round robin starts at the first endpoint by name: pod-dead.
  const h = await startProxy({ backends: [echo], endpoints: [{ name: 'pod-dead', address: `127.0.0.1:${dead}` }], algorithm: 'round-robin', keySource: null, proxy: { retries: retrier({}, budget) } });
  const rec = recordExchanges();
  const client = new Client(h.origin);
  try {
    const body = Buffer.alloc(200_000, 'x');
    const r = await send(client, '/', { method: 'POST', body });
    assert.equal(r.status, 200);
    assert.equal(r.text.length, body.length);
    assert.equal(r.headers['x-shardgate-endpoint'], 'pod-live');
    assert.deepEqual(rec.events.map((e) => [e.endpoint, e.outcome, e.attempt]), [['pod-dead', 'connect-failed', 1], ['pod-live', 'ok', 2]]);
    assert.deepEqual([budget.acquired, budget.released], [0, 0], 'a request that never reached a pod is retried outside the budget');
    await assertNoInflight(h);
  } finally {
    rec.stop();
    await client.close();
    await h.stop();
  }
});

test('a keyed request whose owner is down is retried on the key\'s next owner in its preference order', async () => {
  const backends = await startBackends(3);
  const dead = await closedPort();
  const h = await startProxy({ backends, endpoints: [{ name: 'pod-x', address: `127.0.0.1:${dead}` }], algorithm: 'ring-hash', proxy: { retries: retrier() } });
  const balancer = h.balancer as HashingBalancer;
  const client = new Client(h.origin);
  try {
    // A key owned by the dead endpoint.
    let key = '';
    for (let i = 0; key === ''; i++) if (balancer.owner(hashKey(`k-${i}`))?.name === 'pod-x') key = `k-${i}`;
    const order = balancer.preference(hashKey(key), 2).map((e) => e.name);
    assert.equal(order[0], 'pod-x');
    for (let i = 0; i < 3; i++) {
      const r = await send(client, '/', { headers: { 'x-affinity': key } });
      assert.equal(r.status, 200);
      assert.equal(r.text, order[1], 'the next owner, every time');
    }
  } finally {
    await client.close();
    await h.stop();
  }
});

test('a 503 from the pod is retried for GET, not for POST; a reset after sending likewise', async () => {
  let calls = 0;
  const flaky = await startBackend('pod-a', (req, res) => {
    calls++;
    req.resume();
    if (req.url === '/reset') {
      req.socket.destroy();
      return;
    }
    res.writeHead(503).end('busy');
  });
  const good = await startBackend('pod-b');
  const h = await startProxy({ backends: [flaky, good], algorithm: 'round-robin', keySource: null, proxy: { retries: retrier() } });
  const client = new Client(h.origin);
  try {
    const get = await send(client, '/');
    assert.equal(get.status, 200);
    assert.equal(get.text, 'pod-b');
    const post = await send(client, '/', { method: 'POST', body: 'x' });
    // Round robin: this one went to pod-a again, which answered 503: not retried.
    assert.equal(post.status, 503);
    assert.equal(post.text, 'busy');
    await send(client, '/'); // pod-b: realign round robin
    const reset = await send(client, '/reset');
    assert.equal(reset.status, 200, 'a GET reset after sending is retried');
    await send(client, '/');
    const resetPost = await send(client, '/reset', { method: 'POST', body: 'x' });
    assert.equal(resetPost.status, 502, 'a POST reset after sending is not');
    assert.ok(calls >= 4);
    await assertNoInflight(h);
  } finally {
    await client.close();
    await h.stop();
  }
});

test('retries stop after the configured number, and the budget can refuse them', async () => {
  const dead = await Promise.all([closedPort(), closedPort(), closedPort(), closedPort()]);
  const endpoints = dead.map((port, i) => ({ name: `pod-${i}`, address: `127.0.0.1:${port}` }));
  const h = await startProxy({ endpoints, algorithm: 'round-robin', keySource: null, proxy: { retries: retrier({ retries: 2 }) } });
  const rec = recordExchanges();
  const client = new Client(h.origin);
  try {
    const r = await send(client, '/');
    assert.equal(r.status, 502);
    assert.deepEqual(rec.events.map((e) => e.attempt), [1, 2, 3]);
  } finally {
    rec.stop();
    await client.close();
    await h.stop();
  }
  // A budget that refuses: a 503 from a pod is not retried; a connect failure still is.
  const refusing: RetryBudgetLike = { tryAcquire: () => false, release: () => assert.fail('nothing was acquired') };
  const policy = retrier({}, refusing);
  const busy = await startBackends(2, 'busy', (req, res) => {
    req.resume();
    res.writeHead(503).end('busy');
  });
  const h2 = await startProxy({ backends: busy, algorithm: 'round-robin', keySource: null, proxy: { retries: policy } });
  const client2 = new Client(h2.origin);
  try {
    assert.equal((await send(client2, '/')).status, 503);
    assert.equal(policy.budgetRefused, 1);
    assert.equal(policy.retried, 0);
  } finally {
    await client2.close();
    await h2.stop();
  }
  const unbudgeted = retrier({ retries: 2 }, refusing);
  const h3 = await startProxy({ endpoints, algorithm: 'round-robin', keySource: null, proxy: { retries: unbudgeted } });
  const rec3 = recordExchanges();
  const client3 = new Client(h3.origin);
  try {
    assert.equal((await send(client3, '/')).status, 502);
    assert.deepEqual(rec3.events.map((e) => e.attempt), [1, 2, 3], 'requests that never reached a pod are retried outside the budget');
    assert.deepEqual([unbudgeted.budgetRefused, unbudgeted.retried], [0, 2]);
  } finally {
    rec3.stop();
    await client3.close();
    await h3.stop();
  }
});

test('an exchange takes one share of the budget at its first retry that may add load, and gives it back once', async () => {
  const busy = await startBackend('pod-busy', (req, res) => {
    req.resume();
    res.writeHead(503).end('busy');
  });
  const good = await startBackend('pod-good');
  const dead = await closedPort();
  const budget = openBudget();
  const h = await startProxy({ backends: [busy, good], endpoints: [{ name: 'pod-dead', address: `127.0.0.1:${dead}` }], algorithm: 'ring-hash', proxy: { retries: retrier({}, budget) } });
  const balancer = h.balancer as HashingBalancer;
  // A key that meets pod-busy (503: charged), then pod-dead (refused: already charged), then pod-good.
  let key = '';
  for (let i = 0; key === ''; i++) {
    if (balancer.preference(hashKey(`k-${i}`), 3).map((e) => e.name).join() === 'pod-busy,pod-dead,pod-good') key = `k-${i}`;
  }
  const rec = recordExchanges();
  const client = new Client(h.origin);
  try {
    const r = await send(client, '/', { headers: { 'x-affinity': key } });
    assert.equal(r.status, 200);
    assert.deepEqual(rec.events.map((e) => [e.endpoint, e.outcome]), [['pod-busy', 'http-5xx'], ['pod-dead', 'connect-failed'], ['pod-good', 'ok']]);
    assert.deepEqual([budget.acquired, budget.released], [1, 1]);
    await assertNoInflight(h);
  } finally {
    rec.stop();
    await client.close();
    await h.stop();
  }
});

test('a pod killed under load costs no idempotent request', async () => {
  const backends = await startBackends(4, 'pod', (req, res, backend) => {
    req.resume();
    // A little latency so that requests are in flight when the pod dies.
    setTimeout(() => res.end(backend.name), 2);
  });
  const h = await startProxy({ backends, algorithm: 'round-robin', keySource: null, proxy: { retries: retrier() } });
  const pool = new Pool(h.origin, { connections: 16 });
  try {
    const total = 1200;
    let done = 0;
    const statuses = new Map<number, number>();
    let killed = false;
    const one = async (): Promise<void> => {
      const r = await pool.request({ method: 'GET', path: '/' });
      await r.body.text();
      statuses.set(r.statusCode, (statuses.get(r.statusCode) ?? 0) + 1);
      if (++done === 300 && !killed) {
        killed = true;
        backends[1]!.server.close();
        backends[1]!.server.closeAllConnections();
      }
    };
    const workers = Array.from({ length: 16 }, async () => {
      for (let i = 0; i < total / 16; i++) await one();
    });
    await Promise.all(workers);
    assert.ok(killed);
    assert.deepEqual([...statuses.entries()], [[200, total]], 'every request succeeded');
    await assertNoInflight(h);
  } finally {
    await pool.close();
    await h.stop();
  }
});

test('HTTP/2 pods: a REFUSED_STREAM is retried elsewhere, for any method', async () => {
  const refusing = await startH2Backend('pod-0', { handler: (stream) => stream.close(http2.constants.NGHTTP2_REFUSED_STREAM) });
  const good = await startH2Backend('pod-1');
  const h = await startProxy({ endpoints: h2EndpointSpecs([refusing, good]), algorithm: 'round-robin', keySource: null, proxy: { retries: retrier() } });
  const rec = recordExchanges();
  const client = new Client(h.origin);
  try {
    for (let i = 0; i < 4; i++) {
      const r = await send(client, '/', { method: 'POST', body: null });
      assert.equal(r.status, 200);
      assert.equal(r.text, 'pod-1');
    }
    // Round robin: each retry's pick takes pod-1's turn, so every request starts at pod-0.
    assert.equal(refusing.requests, 4);
    assert.deepEqual(
      rec.events.filter((e) => e.endpoint === 'pod-0').map((e) => [e.outcome, e.attempt]),
      [['cancelled', 1], ['cancelled', 1], ['cancelled', 1], ['cancelled', 1]],
      'a refusal is neutral for the pod\'s health',
    );
    await assertNoInflight(h);
  } finally {
    rec.stop();
    await client.close();
    await h.stop();
    await closeH2Backends([refusing, good]);
  }
});

test('HTTP/2 pods: a stream above the last stream id of a GOAWAY is retried on the key\'s next owner', async () => {
  // pod-0 holds its first stream until a second one arrives, then sends GOAWAY naming the first
  // as the last it processes, and answers it: the second stream was never processed.
  let first: ServerHttp2Stream | null = null;
  const goingAway = await startH2Backend('pod-0', {
    handler: (stream) => {
      if (first === null) {
        first = stream;
        return;
      }
      const held = first;
      held.session?.goaway(http2.constants.NGHTTP2_NO_ERROR, held.id ?? 0);
      held.respond({ ':status': 200 });
      held.end('pod-0');
    },
  });
  const other = await startH2Backend('pod-1');
  const h = await startProxy({ endpoints: h2EndpointSpecs([goingAway, other]), algorithm: 'ring-hash', proxy: { retries: retrier(), maxUpstreamSessions: 1 } });
  const balancer = h.balancer as HashingBalancer;
  let key = '';
  for (let i = 0; key === ''; i++) if (balancer.owner(hashKey(`k-${i}`))?.name === 'pod-0') key = `k-${i}`;
  const rec = recordExchanges();
  const pool = new Pool(h.origin, { connections: 2 });
  try {
    const replies = await Promise.all([0, 1].map(() => send(pool, '/', { headers: { 'x-affinity': key } })));
    assert.deepEqual(replies.map((r) => r.status), [200, 200]);
    assert.deepEqual(replies.map((r) => r.text).sort(), ['pod-0', 'pod-1'], 'one answered by the owner, the refused one by the next owner');
    assert.deepEqual(rec.events.map((e) => [e.endpoint, e.outcome]).sort(), [['pod-0', 'cancelled'], ['pod-0', 'ok'], ['pod-1', 'ok']]);
    await assertNoInflight(h);
  } finally {
    rec.stop();
    await pool.close();
    await h.stop();
    await closeH2Backends([goingAway, other]);
  }
});

test('parseRetryOn: names each condition; refuses unknown ones naming the field', () => {
  assert.deepEqual(parseRetryOn('connect-failure, 5xx,5xx'), ['connect-failure', '5xx']);
  assert.throws(() => parseRetryOn('connect-failure,teapot', 'proxy.retryOn'), (err: unknown) => err instanceof ConfigError && err.field === 'proxy.retryOn' && err.message.includes('"teapot"'));
  assert.throws(() => retrier({ retries: 11 }), ConfigError);
});
