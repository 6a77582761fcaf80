import assert from 'node:assert/strict';
import { test } from 'node:test';
import { boundedLoadLimit } from '../../bench/proxy/scenario.js';

test('boundedLoadLimit: ceil(c x average), exact for 1.25 x 16', () => {
  assert.equal(boundedLoadLimit(64, 4), 20);
  assert.equal(boundedLoadLimit(10, 4), 4);
  assert.equal(boundedLoadLimit(64, 4, 2), 32);
  assert.equal(boundedLoadLimit(1, 4), 1);
});
