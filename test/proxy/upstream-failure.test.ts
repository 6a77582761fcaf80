import assert from 'node:assert/strict';
import { test } from 'node:test';
import { errors } from 'undici';
import { classifyUpstreamError } from '../../src/proxy/upstream-failure.js';

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
