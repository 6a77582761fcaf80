import assert from 'node:assert/strict';
import { test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { httpStatusOfCall, outcomeOfCall } from '../../../src/client/grpc/call-outcome.js';
import { statusForOutlier } from '../../../src/balancer/outlier-detector.js';

test('a call counts for passive health as Envoy counts it: the pod failing is 5xx, the request failing is not', () => {
  // Outcome, then each code's HTTP status.
  const cases: Record<string, Partial<Record<keyof typeof status, number>>> = {
    ok: { OK: 200, NOT_FOUND: 404, INVALID_ARGUMENT: 400, RESOURCE_EXHAUSTED: 429, UNAUTHENTICATED: 401 },
    cancelled: { CANCELLED: 499 },
    timeout: { DEADLINE_EXCEEDED: 504 },
    'http-5xx': { UNAVAILABLE: 503, UNKNOWN: 500, INTERNAL: 500, DATA_LOSS: 500, UNIMPLEMENTED: 501 },
  };
  for (const [outcome, codes] of Object.entries(cases)) {
    for (const [name, http] of Object.entries(codes)) {
      const code = status[name as keyof typeof status];
      assert.equal(outcomeOfCall(code), outcome, name);
      assert.equal(httpStatusOfCall(code), http, name);
    }
  }
  // What the outlier detector makes of them: UNAVAILABLE is a gateway failure, as a 503 is.
  assert.equal(statusForOutlier(outcomeOfCall(status.UNAVAILABLE), httpStatusOfCall(status.UNAVAILABLE)), 503);
  assert.equal(statusForOutlier(outcomeOfCall(status.DEADLINE_EXCEEDED), httpStatusOfCall(status.DEADLINE_EXCEEDED)), 504);
  assert.equal(httpStatusOfCall(99), 500, 'a code past the table is a failure');
});
