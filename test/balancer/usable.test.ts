import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../src/balancer/clock.js';
import { LoadBoard } from '../../src/balancer/load-board.js';
import { firstUsableFrom, noUsable, usable } from '../../src/balancer/usable.js';
import { excluding, setOf, specs } from './helpers.js';

test('usable: available and not excluded', () => {
  const board = new LoadBoard(new ManualClock());
  const set = setOf(specs(4).map((e) => ({ ...e, draining: e.name === 'svc-1' })));
  board.sync(set);
  const ex = excluding(set, ['svc-2']);
  assert.deepEqual(board.loads.map((l) => usable(l, ex)), [true, false, false, true]);
  assert.deepEqual(board.loads.map((l) => usable(l, null)), [true, false, true, true]);
  assert.equal(firstUsableFrom(board.loads, 1, ex), 3);
  assert.equal(firstUsableFrom(board.loads, 3, ex), 3);
  assert.equal(firstUsableFrom(board.loads, 1, excluding(set, ['svc-2', 'svc-3'])), 0, 'wraps around');
  assert.equal(firstUsableFrom(board.loads, 0, new Set(set.endpoints)), -1);
  assert.equal(firstUsableFrom([], 0, null), -1);
});

test('usable: an endpoint at its in-flight limit is not; noUsable tells a full set from one out of rotation', () => {
  const board = new LoadBoard(new ManualClock(), { maxInflight: 1 });
  const set = setOf(specs(3));
  board.sync(set);
  board.begin(0);
  assert.deepEqual(board.loads.map((l) => usable(l, null)), [false, true, true]);
  assert.equal(firstUsableFrom(board.loads, 0, null), 1);
  board.setDown('svc-1', 'ejected', true);
  board.setDown('svc-2', 'failed-check', true);
  assert.equal(firstUsableFrom(board.loads, 0, null), -1);
  assert.equal(noUsable(board.loads, null).reason, 'saturated', 'svc-0 is only full');
  assert.equal(noUsable(board.loads, excluding(set, ['svc-0'])).reason, 'all-unavailable', 'the full one is excluded');
  board.setDown('svc-0', 'ejected', true);
  assert.equal(noUsable(board.loads, null).reason, 'all-unavailable');
  assert.equal(noUsable([], null).reason, 'all-unavailable');
});
