import assert from 'node:assert/strict';
import { test } from 'node:test';
import { duplicatedIds, emptyTally, isGetRequest, OK, outcomeOfAnswer, outcomeOfError, reasonsText, record, requestCounts } from '../../../bench/faults/tally.js';

test('outcomeOfAnswer: 2xx is OK; another status quotes the proxy error code, or the text of an error page', () => {
  assert.equal(outcomeOfAnswer(200), OK);
  assert.equal(outcomeOfAnswer(204, ''), OK);
  assert.deepEqual(outcomeOfAnswer(502, '{"error":"the endpoint reset","code":"SG_ERR_UPSTREAM_RESET"}'), { ok: false, reason: 'HTTP 502 (SG_ERR_UPSTREAM_RESET)' });
  assert.deepEqual(outcomeOfAnswer(503, '<html><body><h1>503 Service Unavailable</h1>\nNo server is available.\n</body></html>'), { ok: false, reason: 'HTTP 503 (503 Service Unavailable No server is available.)' });
  assert.deepEqual(outcomeOfAnswer(503, 'unavailable\n'), { ok: false, reason: 'HTTP 503 (unavailable)' });
  assert.deepEqual(outcomeOfAnswer(301), { ok: false, reason: 'HTTP 301' });
});

test('outcomeOfError: the error code, else the message', () => {
  assert.deepEqual(outcomeOfError(Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' })), { ok: false, reason: 'UND_ERR_SOCKET' });
  assert.deepEqual(outcomeOfError(new Error('boom')), { ok: false, reason: 'boom' });
});

test('record: counts sent and failed by kind, failures by reason, the failed ids', () => {
  const t = emptyTally();
  record(t, true, 'a-0', OK);
  record(t, true, 'a-2', { ok: false, reason: 'HTTP 504' });
  record(t, false, 'a-1', { ok: false, reason: 'HTTP 502' });
  record(t, false, 'a-3', { ok: false, reason: 'HTTP 502' });
  record(t, false, 'a-5', { ok: false, reason: 'ECONNRESET' });
  assert.deepEqual(t.idempotent, { sent: 2, failed: 1, reasons: { 'HTTP 504': 1 }, failedIds: ['a-2'] });
  assert.equal(t.nonIdempotent.sent, 3);
  assert.equal(reasonsText(t.nonIdempotent), '2 x HTTP 502, 1 x ECONNRESET');
  assert.equal(reasonsText(emptyTally().idempotent), '');
});

test('duplicatedIds: ids of the method written more than once, across pods, among those of the run', () => {
  const podA = 'POST run-1\nGET run-2\nPOST run-3\nPOST warm-3\n';
  const podB = 'POST run-3\nGET run-2\nPOST run-5\nPOST warm-3\n';
  assert.deepEqual(duplicatedIds(podA + podB, 'POST', 'run-'), ['run-3']);
  assert.deepEqual(duplicatedIds(podA + podB, 'GET', 'run-'), ['run-2']);
  assert.deepEqual(duplicatedIds('', 'POST', 'run-'), []);
});

test('requestCounts: a POST that failed and was also delivered twice is lost once', () => {
  const t = emptyTally();
  for (let i = 0; i < 10; i++) record(t, false, `r-${i}`, i < 2 ? { ok: false, reason: 'HTTP 502' } : OK);
  const c = requestCounts(t, ['r-1', 'r-7']);
  assert.deepEqual(c.nonIdempotent, { sent: 10, failed: 2, duplicated: 2, lost: 3 });
  assert.deepEqual(c.idempotent, { sent: 0, failed: 0 });
});

test('isGetRequest: half GET, and as many on every pod of a round robin over 2, 3, 4 or 5 pods', () => {
  const n = 40_000;
  for (const pods of [2, 3, 4, 5]) {
    const gets = Array<number>(pods).fill(0);
    for (let i = 0; i < n; i++) if (isGetRequest(i)) gets[i % pods]!++;
    for (const [pod, g] of gets.entries()) {
      const share = g / (n / pods);
      assert.ok(share > 0.47 && share < 0.53, `${pods} pods: pod ${pod} gets ${share.toFixed(3)} GETs`);
    }
  }
});
