import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Client, errors } from 'undici';
import type { Endpoint } from '../../src/balancer/endpoint.js';
import { DEFAULT_RETRY_OPTIONS, Retrier } from '../../src/proxy/retries.js';
import { monotonicClock } from '../../src/balancer/clock.js';
import { RetryBudget } from '../../src/balancer/retry-budget.js';
import { classifyUpstreamError } from '../../src/proxy/upstream-failure.js';
import { closedPort, startBackend } from '../helpers/backends.js';
import { recordExchanges, send, startProxy } from './harness.js';

function coded(code: string): Error {
  return Object.assign(new Error(code), { code });
}

test('classifyUpstreamError: undici and socket errors map to outcome and reply', () => {
  const cases: [unknown, boolean, string, number | null][] = [
    [new errors.ConnectTimeoutError(), false, 'connect-failed', 504],
    [coded('ECONNREFUSED'), false, 'connect-failed', 502],
    [coded('EHOSTUNREACH'), false, 'connect-failed', 502],
    [coded('ENOTFOUND'), false, 'connect-failed', 502],
    [new errors.SocketError('other side closed'), false, 'connect-failed', 502],
    [new errors.HeadersTimeoutError(), true, 'timeout', 504],
    [new errors.BodyTimeoutError(), true, 'timeout', 504],
    [coded('ETIMEDOUT'), true, 'timeout', 504],
    [new errors.SocketError('other side closed'), true, 'reset', 502],
    [coded('ECONNRESET'), true, 'reset', 502],
    [coded('EPIPE'), true, 'reset', 502],
    [new errors.HTTPParserError('bad status line'), true, 'reset', 502],
    [new errors.ResponseContentLengthMismatchError(), true, 'reset', 502],
    [new errors.HeadersOverflowError(), true, 'reset', 502],
    [new errors.RequestAbortedError(), true, 'cancelled', null],
    [new errors.RequestContentLengthMismatchError(), true, 'cancelled', null],
    [new errors.ClientClosedError(), false, 'cancelled', 503],
    [new errors.ClientDestroyedError(), true, 'cancelled', 503],
    [new errors.InvalidArgumentError('invalid header'), false, 'cancelled', 400],
    [new Error('something unforeseen'), true, 'reset', 502],
    ['not even an error', true, 'reset', 502],
  ];
  for (const [err, started, outcome, status] of cases) {
    const f = classifyUpstreamError(err, started);
    const what = `${(err as { code?: string }).code ?? String(err)} (started: ${started})`;
    assert.equal(f.outcome, outcome, what);
    assert.equal(f.reply?.status ?? null, status, what);
  }
});

test('onConnectFailure hears of each connect that failed, with the endpoint; not of 5xx, resets or successes', async () => {
  const ok = await startBackend('pod-ok');
  const failing = await startBackend('pod-5xx', (req, res) => {
    req.resume();
    res.statusCode = 503;
    res.end();
  });
  const resetting = await startBackend('pod-reset', (req) => req.socket.destroy());
  const dead = await closedPort();
  const heard: Endpoint[] = [];
  // Round robin without retries: each endpoint gets exactly every fourth request.
  const h = await startProxy({
    backends: [ok, failing, resetting],
    endpoints: [{ name: 'pod-dead', address: `127.0.0.1:${dead}` }],
    algorithm: 'round-robin',
    keySource: null,
    proxy: { onConnectFailure: (e) => heard.push(e) },
  });
  const client = new Client(h.origin);
  try {
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await send(client, '/')).status);
    assert.deepEqual(statuses.sort(), [200, 200, 502, 502, 502, 502, 503, 503]);
    assert.deepEqual(heard.map((e) => [e.name, e.address]), [['pod-dead', `127.0.0.1:${dead}`], ['pod-dead', `127.0.0.1:${dead}`]]);
  } finally {
    await client.close();
    await h.stop();
  }
});

test('onConnectFailure: a connect failure retried on another endpoint is heard, and the request succeeds', async () => {
  const ok = await startBackend('pod-ok');
  const dead = await closedPort();
  const heard: string[] = [];
  const h = await startProxy({
    backends: [ok],
    endpoints: [{ name: 'pod-dead', address: `127.0.0.1:${dead}` }],
    algorithm: 'round-robin',
    keySource: null,
    proxy: { onConnectFailure: (e) => heard.push(e.name), retries: new Retrier(DEFAULT_RETRY_OPTIONS, new RetryBudget(monotonicClock)) },
  });
  const rec = recordExchanges();
  const client = new Client(h.origin);
  try {
    for (let i = 0; i < 4; i++) {
      const r = await send(client, '/');
      assert.equal(r.status, 200);
      assert.equal(r.text, 'pod-ok');
    }
    const failed = rec.events.filter((e) => e.outcome === 'connect-failed').map((e) => e.endpoint);
    assert.ok(failed.length > 0, 'requests went to pod-dead first');
    assert.deepEqual(heard, failed, 'one call per failed attempt');
  } finally {
    rec.stop();
    await client.close();
    await h.stop();
  }
});
