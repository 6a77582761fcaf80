import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiStatusError, ResourceExpiredError, statusError } from '../../../src/discovery/k8s/api-status-error.js';

test('status error: code, reason and message from the Status; 410 is ResourceExpiredError', () => {
  const e = statusError('https://k: HTTP 403', 403, { code: 403, reason: 'Forbidden', message: 'endpointslices.discovery.k8s.io is forbidden' });
  assert.ok(e instanceof ApiStatusError && !(e instanceof ResourceExpiredError));
  assert.equal(e.status, 403);
  assert.equal(e.reason, 'Forbidden');
  assert.equal(e.message, 'https://k: HTTP 403 Forbidden: endpointslices.discovery.k8s.io is forbidden');
  assert.equal(e.retryAfterSeconds, null);
  const gone = statusError('https://k: watch ERROR 410', 410, { reason: 'Expired', message: 'too old resource version: 1 (5)' });
  assert.ok(gone instanceof ResourceExpiredError);
  assert.equal(gone.message, 'https://k: watch ERROR 410 Expired: too old resource version: 1 (5)');
  assert.equal(statusError('https://k: HTTP 502', 502, { message: '<html>bad gateway' }).reason, null);
});

test('status error: Retry-After from the header (delta-seconds) over the Status details; anything else is none', () => {
  const after = (header: string | null, details?: { retryAfterSeconds?: number }): number | null => statusError('w', 429, { reason: 'TooManyRequests', ...(details === undefined ? {} : { details }) }, header).retryAfterSeconds;
  assert.equal(after('7'), 7);
  assert.equal(after(' 3 ', { retryAfterSeconds: 9 }), 3);
  assert.equal(after(null, { retryAfterSeconds: 9 }), 9);
  assert.equal(after('Wed, 21 Oct 2026 07:28:00 GMT'), null);
  assert.equal(after('-1'), null);
  assert.equal(after(null, { retryAfterSeconds: -2 }), null);
  assert.equal(after(null), null);
});
