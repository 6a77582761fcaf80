import assert from 'node:assert/strict';
import { test } from 'node:test';
import { integerSetting, subsetSetting } from '../../../bench/common/env.js';

test('integerSetting: the fallback when unset or empty, the value when an integer at or above the minimum', () => {
  assert.equal(integerSetting({}, 'X', 7, 1), 7);
  assert.equal(integerSetting({ X: '' }, 'X', 7, 1), 7);
  assert.equal(integerSetting({ X: '0' }, 'X', 7, 0), 0);
  assert.throws(() => integerSetting({ X: '0' }, 'X', 7, 1), /X is "0": give an integer >= 1/);
  assert.throws(() => integerSetting({ X: '2.5' }, 'X', 7, 1), /X is "2.5"/);
});

test('subsetSetting: every value when unset, else the named ones in the canonical order; unknown names are an error', () => {
  const all = ['a', 'b', 'c'] as const;
  assert.deepEqual(subsetSetting({}, 'S', all), ['a', 'b', 'c']);
  assert.deepEqual(subsetSetting({ S: ' c, a ' }, 'S', all), ['a', 'c']);
  assert.throws(() => subsetSetting({ S: 'a,d' }, 'S', all), /S names d: choose from a, b, c/);
});
