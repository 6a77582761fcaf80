import assert from 'node:assert/strict';
import { test } from 'node:test';
import { countMoves } from '../../src/demo/pod-leaves.js';

test('countMoves: counts changed owners, and separately those whose old owner stayed', () => {
  const before = ['p0', 'p1', 'p1', 'p2', 'p3'];
  const after = ['p0', 'p2', 'p3', 'p2', 'p0'];
  assert.deepEqual(countMoves(before, after, 'p1'), { moved: 3, movedBetweenSurvivors: 1 });
  assert.deepEqual(countMoves(before, before, 'p1'), { moved: 0, movedBetweenSurvivors: 0 });
});

test('countMoves: owner lists of different lengths are an error', () => {
  assert.throws(() => countMoves(['a'], [], 'a'), /1 before, 0 after/);
});
