import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ReloadEvents } from '../../src/config/reload-events.js';
import type { ReloadOutcome } from '../../src/config/reload-events.js';

const OK: ReloadOutcome = { ok: true, path: 'a.yaml', error: null, restartNeeded: [], atMs: 1 };
const BAD: ReloadOutcome = { ok: false, path: 'a.yaml', error: 'a.yaml: key: is 3', restartNeeded: [], atMs: 2 };

test('ReloadEvents: counts outcomes, keeps the last, tells listeners until they stop', () => {
  const events = new ReloadEvents();
  const heard: boolean[] = [];
  const stop = events.on((o) => heard.push(o.ok));
  events.emit(OK);
  events.emit(BAD);
  stop();
  events.emit(OK);
  assert.deepEqual(heard, [true, false]);
  assert.equal(events.ok, 2);
  assert.equal(events.failed, 1);
  assert.equal(events.last, OK);
});

test('ReloadEvents: a listener that throws does not keep the others from hearing; the failure is rethrown', () => {
  const events = new ReloadEvents();
  let heard = 0;
  events.on(() => {
    throw new Error('listener bug');
  });
  events.on(() => heard++);
  assert.throws(() => events.emit(OK), /listener bug/);
  assert.equal(heard, 1);
  assert.equal(events.ok, 1);
});
