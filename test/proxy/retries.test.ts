import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import type { ServerHttp2Stream } from 'node:http2';
import { test } from 'node:test';
import { Client, Pool } from 'undici';
import { monotonicClock } from '../../src/balancer/clock.js';
import { hashKey } from '../../src/balancer/hash.js';
import { RetryBudget } from '../../src/balancer/retry-budget.js';
import type { HashingBalancer } from '../../src/balancer/hashing-balancer.js';
import { ConfigError } from '../../src/errors.js';
import type { RetryBudgetLike, RetryOptions } from '../../src/proxy/retries.js';
import { DEFAULT_RETRY_OPTIONS, Retrier, parseRetryOn } from '../../src/proxy/retries.js';
import { closedPort, closeGracefully, relisten, startBackend, startBackends } from '../helpers/backends.js';
import { closeH2Backends, h2EndpointSpecs, startH2Backend } from '../helpers/h2-backends.js';
import { assertNoInflight, recordExchanges, send, startProxy } from './harness.js';

/** A budget that always allows, counting what it was given and asked. */
function openBudget(): RetryBudgetLike & { deposited: number; withdrawn: number } {
  return {
    deposited: 0,
    withdrawn: 0,
    deposit() {
      this.deposited++;
    },
    tryWithdraw() {
      this.withdrawn++;
      return true;
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
    assert.deepEqual([budget.deposited, budget.withdrawn], [1, 0], 'a request that never reached a pod is retried outside the budget');
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
  const refusing: RetryBudgetLike = { deposit: () => undefined, tryWithdraw: () => false };
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
    assert.equal(policy.retriedCount, 0);
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
    assert.deepEqual([unbudgeted.budgetRefused, unbudgeted.retriedCount], [0, 2]);
  } finally {
    rec3.stop();
    await client3.close();
    await h3.stop();
  }
});

test('a retry after a 5xx is paid from the budget, one after a connection failure is not; each request adds to it once', async () => {
  const busy = await startBackend('pod-busy', (req, res) => {
    req.resume();
    res.writeHead(503).end('busy');
  });
  const good = await startBackend('pod-good');
  const dead = await closedPort();
  const budget = openBudget();
  const h = await startProxy({ backends: [busy, good], endpoints: [{ name: 'pod-dead', address: `127.0.0.1:${dead}` }], algorithm: 'ring-hash', proxy: { retries: retrier({}, budget) } });
  const balancer = h.balancer as HashingBalancer;
  // A key that meets pod-busy (503: paid), then pod-dead (refused: free), then pod-good.
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
    assert.deepEqual([budget.deposited, budget.withdrawn], [1, 1]);
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

/** A raw pod that answers nothing: every connection is closed as soon as a request arrives, with RST (`reset`) or FIN. */
async function closingPod(how: 'reset' | 'fin'): Promise<{ address: string; requests: () => number; close: () => Promise<void> }> {
  let requests = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    socket.once('data', () => {
      requests++;
      if (how === 'reset') socket.resetAndDestroy();
      else socket.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    requests: () => requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

test('a connection the pod resets (RST) before any response: a small POST is sent again elsewhere, outside the budget; one closed with FIN is not', async () => {
  const refusing: RetryBudgetLike = { deposit: () => undefined, tryWithdraw: () => false };
  for (const how of ['reset', 'fin'] as const) {
    const bad = await closingPod(how);
    const good = await startBackend('pod-z');
    // Round robin starts with pod-a, the closing pod.
    const h = await startProxy({ backends: [good], endpoints: [{ name: 'pod-a', address: bad.address }], algorithm: 'round-robin', keySource: null, proxy: { retries: retrier({}, refusing) } });
    const client = new Client(h.origin);
    try {
      const r = await send(client, '/', { method: 'POST', body: 'a small body', headers: { 'content-type': 'text/plain' } });
      if (how === 'reset') {
        assert.equal(r.status, 200, 'an RST before any response: the pod did not read the request, so it is sent again');
        assert.equal(r.text, 'pod-z');
      } else {
        assert.equal(r.status, 502, 'a close after the pod read the request: it may have been processed');
      }
      assert.equal(bad.requests(), 1);
      await assertNoInflight(h);
    } finally {
      await client.close();
      await h.stop();
      await bad.close();
    }
  }
});

test('a body too large to keep for a retry is not sent again after an RST; a GET closed with FIN is retried outside the budget', async () => {
  const refusing: RetryBudgetLike = { deposit: () => undefined, tryWithdraw: () => false };
  const resetting = await closingPod('reset');
  const closing = await closingPod('fin');
  const good = await startBackend('pod-z');
  const h = await startProxy({ backends: [good], endpoints: [{ name: 'pod-a', address: resetting.address }], algorithm: 'round-robin', keySource: null, proxy: { retries: retrier({}, refusing) } });
  const h2 = await startProxy({ backends: [good], endpoints: [{ name: 'pod-a', address: closing.address }], algorithm: 'round-robin', keySource: null, proxy: { retries: retrier({}, refusing) } });
  const client = new Client(h.origin);
  const client2 = new Client(h2.origin);
  try {
    const big = await send(client, '/', { method: 'POST', body: Buffer.alloc(100_000, 0x61) });
    assert.equal(big.status, 502, 'a streamed body cannot be replayed');
    const get = await send(client2, '/');
    assert.equal(get.status, 200, 'a pod gone under a GET costs no request, whatever the budget');
    assert.equal(get.text, 'pod-z');
  } finally {
    await client.close();
    await client2.close();
    await h.stop();
    await h2.stop();
    await resetting.close();
    await closing.close();
  }
});

test('timeout: a GET with no response head in time is retried elsewhere when asked; a POST never is; not by default', async () => {
  const hanging = await startBackend('pod-a', (req) => req.resume());
  const good = await startBackend('pod-b');
  const timeouts = { upstreamHeadersMs: 200, shutdownGraceMs: 100 };
  const withTimeout = await startProxy({ backends: [hanging, good], algorithm: 'round-robin', keySource: null, timeouts, proxy: { retries: retrier({ retryOn: [...DEFAULT_RETRY_OPTIONS.retryOn, 'timeout'] }) } });
  const byDefault = await startProxy({ backends: [hanging, good], algorithm: 'round-robin', keySource: null, timeouts, proxy: { retries: retrier() } });
  const a = new Client(withTimeout.origin);
  const b = new Client(byDefault.origin);
  try {
    const get = await send(a, '/');
    assert.equal(get.status, 200);
    assert.equal(get.text, 'pod-b');
    await send(a, '/'); // realign round robin on pod-a
    assert.equal((await send(a, '/', { method: 'POST', body: 'x' })).status, 504);
    assert.equal((await send(b, '/')).status, 504, 'timeouts are retried only when asked');
  } finally {
    await a.close();
    await b.close();
    await withTimeout.stop();
    await byDefault.stop();
  }
});

test('a pod that hangs under load costs no GET when timeouts are retried: the burst of timeouts is within the budget', async () => {
  let hang = false;
  const backends = await startBackends(4, 'pod', (req, res, backend) => {
    req.resume();
    if (hang && backend.name === 'pod-1') return;
    req.on('end', () => res.end(backend.name));
  });
  const policy = new Retrier({ ...DEFAULT_RETRY_OPTIONS, retries: 3, retryOn: [...DEFAULT_RETRY_OPTIONS.retryOn, 'timeout'] }, new RetryBudget(monotonicClock));
  const h = await startProxy({ backends, algorithm: 'round-robin', keySource: null, timeouts: { upstreamHeadersMs: 300, shutdownGraceMs: 100 }, proxy: { retries: policy } });
  const pool = new Pool(h.origin, { connections: 32 });
  const statuses = new Map<number, number>();
  let stop = false;
  try {
    const load = Promise.all(
      Array.from({ length: 32 }, async () => {
        while (!stop) {
          const r = await pool.request({ method: 'GET', path: '/' });
          await r.body.text();
          statuses.set(r.statusCode, (statuses.get(r.statusCode) ?? 0) + 1);
        }
      }),
    );
    await new Promise((r) => setTimeout(r, 200));
    hang = true;
    await new Promise((r) => setTimeout(r, 1_000));
    stop = true;
    await load;
    assert.deepEqual([...statuses.keys()], [200], `every GET succeeded: ${JSON.stringify([...statuses])}`);
    assert.ok(policy.retriedCount >= 16, `${policy.retriedCount} retries: every client was caught by the hanging pod at least once`);
    assert.equal(policy.budgetRefused, 0);
  } finally {
    stop = true;
    await pool.close();
    await h.stop();
  }
});

test('a pod restarting gracefully three times under POST load costs no request', { timeout: 60_000 }, async () => {
  const backends = await startBackends(4, 'pod', (req, res, backend) => {
    req.resume();
    req.on('end', () => res.end(backend.name));
  });
  const h = await startProxy({ backends, algorithm: 'round-robin', keySource: null, proxy: { retries: retrier({ retries: 3 }) } });
  const restarting = backends[1]!;
  const pool = new Pool(h.origin, { connections: 32 });
  const statuses = new Map<string, number>();
  let stop = false;
  try {
    const load = Promise.all(
      Array.from({ length: 32 }, async () => {
        while (!stop) {
          let label: string;
          try {
            const r = await pool.request({ method: 'POST', path: '/', body: '01234567890123456789', headers: { 'content-type': 'text/plain' } });
            await r.body.text();
            label = String(r.statusCode);
          } catch (err) {
            label = (err as { code?: string }).code ?? 'error';
          }
          statuses.set(label, (statuses.get(label) ?? 0) + 1);
        }
      }),
    );
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, 300));
      // Node's graceful close: no new connections, keep-alive connections closed once idle,
      // requests under way finish; then the pod listens again on its port.
      await closeGracefully(restarting);
      await new Promise((r) => setTimeout(r, 100));
      await relisten(restarting);
    }
    await new Promise((r) => setTimeout(r, 300));
    stop = true;
    await load;
    assert.deepEqual([...statuses.keys()], ['200'], `every POST succeeded: ${JSON.stringify([...statuses])}`);
    await assertNoInflight(h);
  } finally {
    stop = true;
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
  assert.deepEqual(parseRetryOn('unread-reset,timeout'), ['unread-reset', 'timeout']);
  assert.throws(() => parseRetryOn('connect-failure,teapot', 'proxy.retryOn'), (err: unknown) => err instanceof ConfigError && err.field === 'proxy.retryOn' && err.message.includes('"teapot"'));
  assert.throws(() => retrier({ retries: 11 }), ConfigError);
});
