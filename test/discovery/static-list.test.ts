import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StaticListSource } from '../../src/discovery/static-list.js';
import { ConfigError } from '../../src/errors.js';
import { names, Recorder } from './recorder.js';

test('static list: one sorted set, delivered after subscribe() returns', async () => {
  const source = new StaticListSource([
    { name: 'pod-1', address: '127.0.0.1:9001' },
    { name: 'pod-0', address: '127.0.0.1:9000' },
  ]);
  const r = new Recorder().subscribe(source);
  assert.equal(r.events.length, 0, 'nothing from inside subscribe()');
  const d = await r.at(0);
  assert.ok(d.kind === 'set');
  assert.deepEqual(names(d.set), ['pod-0', 'pod-1']);
  r.unsubscribe();
});

test('static list: unsubscribing before delivery delivers nothing', async () => {
  const source = new StaticListSource([{ name: 'a', address: '127.0.0.1:1' }]);
  const r = new Recorder().subscribe(source);
  r.unsubscribe();
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(r.events.length, 0);
});

test('static list: a bad list is refused when the source is made, naming the entry', () => {
  assert.throws(
    () => new StaticListSource([{ name: 'a', address: '127.0.0.1:1' }, { name: 'a', address: '127.0.0.1:2' }]),
    (e: unknown) => e instanceof ConfigError && e.field === 'endpoints[1].name',
  );
});
