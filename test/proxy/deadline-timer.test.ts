/**
 * DeadlineTimer: a deadline set again and again fires once, after the last setting, and not at
 * all once cleared or disposed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DeadlineTimer } from '../../src/proxy/deadline-timer.js';
import { until } from '../helpers/until.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

test('fires once when the deadline passes', async () => {
  let fired = 0;
  const timer = new DeadlineTimer(() => fired++);
  timer.set(20);
  assert.equal(timer.armed, true);
  await until('the deadline to pass', () => fired === 1);
  await sleep(40);
  assert.equal(fired, 1);
  assert.equal(timer.armed, false);
});

test('a later setting moves the deadline: nothing fires at the first one', async () => {
  let fired = 0;
  const timer = new DeadlineTimer(() => fired++);
  timer.set(40);
  await sleep(20);
  timer.set(200);
  await sleep(80);
  assert.equal(fired, 0, 'the first deadline was replaced');
  await until('the second deadline to pass', () => fired === 1);
  timer.dispose();
});

test('an earlier setting is kept too: the deadline comes sooner than the pending timer', async () => {
  let fired = 0;
  const timer = new DeadlineTimer(() => fired++);
  timer.set(60_000);
  timer.set(20);
  await until('the short deadline to pass', () => fired === 1);
  timer.dispose();
});

test('clear(), set(0) and dispose() leave nothing to fire', async () => {
  let fired = 0;
  const a = new DeadlineTimer(() => fired++);
  a.set(20);
  a.clear();
  const b = new DeadlineTimer(() => fired++);
  b.set(20);
  b.set(0);
  const c = new DeadlineTimer(() => fired++);
  c.set(20);
  c.dispose();
  await sleep(80);
  assert.equal(fired, 0);
  assert.deepEqual([a.armed, b.armed, c.armed], [false, false, false]);
  a.dispose();
  b.dispose();
});
