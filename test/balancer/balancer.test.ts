import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NO_PICK } from '../../src/balancer/balancer.js';

test('NO_PICK: one frozen, shared result per reason, so that refusing allocates nothing', () => {
  for (const [reason, result] of Object.entries(NO_PICK)) {
    assert.deepEqual(result, { kind: 'none', reason });
    assert.ok(Object.isFrozen(result));
  }
  assert.deepEqual(Object.keys(NO_PICK).sort(), ['all-unavailable', 'empty', 'no-key', 'no-range', 'owner-missing', 'saturated']);
});
