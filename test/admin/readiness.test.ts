import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createEndpointSet } from '../../src/balancer/endpoint.js';
import { Readiness } from '../../src/admin/readiness.js';
import type { EndpointRotation } from '../../src/admin/readiness.js';
import { StaticFileSource } from '../../src/discovery/static-file.js';
import { StaticListSource } from '../../src/discovery/static-list.js';
import { Recorder } from '../discovery/recorder.js';

test('readiness: starting until listening with a set, then ready; shutting down is unready at once', () => {
  const r = new Readiness('inline');
  assert.deepEqual(r.report(false), { ready: false, reason: 'starting: waiting for the first endpoint set', discovery: { source: 'inline', state: 'waiting', error: null }, endpoints: null });
  const source = new StaticListSource([{ name: 'a', address: '127.0.0.1:1' }, { name: 'b', address: '127.0.0.1:2', draining: true }]);
  r.attach(source);
  r.accepted(source.set);
  assert.equal(r.report(false).ready, false, 'a set without a listener does not route yet');
  r.listening();
  assert.deepEqual(r.report(false), { ready: true, reason: null, discovery: { source: 'inline', state: 'synced', error: null }, endpoints: { version: 1, total: 2, draining: 1 } });
  assert.equal(r.report(true).ready, true);
  r.shuttingDown();
  assert.deepEqual([r.report(false).ready, r.report(false).reason], [false, 'shutting down']);
});

test('readiness: a set with nothing in rotation is ready, but not strictly', () => {
  const r = new Readiness('inline');
  const source = new StaticListSource([{ name: 'a', address: '127.0.0.1:1', draining: true }]);
  r.attach(source);
  r.accepted(source.set);
  r.listening();
  assert.equal(r.report(false).ready, true);
  assert.deepEqual([r.report(true).ready, r.report(true).reason], [false, 'no endpoint in rotation: 1 draining']);
  assert.deepEqual(r.report(true).rotation, { inRotation: 0, states: { a: 'draining' } });
  r.accepted(createEndpointSet([{ name: 'a', address: '127.0.0.1:1' }], 2));
  assert.equal(r.report(true).ready, true);
});

test('readiness: a source that cannot be read keeps the proxy ready on its last set, says stale, and fails strict readiness until it reads again', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'sg-ready-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'endpoints.yaml');
  await writeFile(file, '- {name: a, address: "127.0.0.1:1"}\n');
  const source = new StaticFileSource(file, { debounceMs: 10, pollMs: 600_000 });
  const r = new Readiness(file);
  r.attach(source);
  const rec = new Recorder().subscribe(source);
  t.after(() => rec.unsubscribe());
  const first = await rec.at(0);
  assert.equal(first.kind, 'set');
  if (first.kind === 'set') r.accepted(first.set);
  r.listening();
  assert.equal(r.report(true).discovery.state, 'synced');

  await writeFile(file, '- {name: a, address: "not an address"}\n');
  await source.refresh();
  const stale = r.report(false);
  assert.equal(stale.ready, true, 'the last good set keeps serving');
  assert.equal(stale.discovery.state, 'stale');
  assert.match(stale.discovery.error ?? '', /address/);
  const strict = r.report(true);
  assert.equal(strict.ready, false);
  assert.match(strict.reason ?? '', /^discovery is stale: .*address/);

  await writeFile(file, '- {name: a, address: "127.0.0.1:1"}\n- {name: b, address: "127.0.0.1:2"}\n');
  await source.refresh();
  assert.deepEqual(r.report(true).discovery, { source: file, state: 'synced', error: null });
});

test('readiness: strictly, no endpoint in rotation for any reason fails, naming each state; the plain report is unchanged', () => {
  const r = new Readiness('inline');
  const source = new StaticListSource([{ name: 'a', address: '127.0.0.1:1' }, { name: 'b', address: '127.0.0.1:2' }, { name: 'c', address: '127.0.0.1:3', draining: true }]);
  r.attach(source);
  r.accepted(source.set);
  r.listening();
  let states: EndpointRotation[] | null = null;
  r.inspect(() => states);
  assert.deepEqual(r.report(true).rotation, { inRotation: 2, states: { a: 'ready', b: 'ready', c: 'draining' } }, 'before the first inspection: the set alone');
  states = [{ name: 'a', state: 'ejected' }, { name: 'b', state: 'failing-checks' }, { name: 'c', state: 'draining' }];
  const strict = r.report(true);
  assert.deepEqual([strict.ready, strict.reason], [false, 'no endpoint in rotation: 1 ejected, 1 failing-checks, 1 draining']);
  assert.deepEqual(strict.rotation, { inRotation: 0, states: { a: 'ejected', b: 'failing-checks', c: 'draining' } });
  assert.deepEqual(r.report(false), { ready: true, reason: null, discovery: { source: 'inline', state: 'synced', error: null }, endpoints: { version: 1, total: 3, draining: 1 } });
  states = [{ name: 'a', state: 'ejected' }, { name: 'b', state: 'ready' }, { name: 'c', state: 'draining' }];
  assert.deepEqual([r.report(true).ready, r.report(true).rotation?.inRotation], [true, 1]);
  states = [];
  assert.deepEqual([r.report(true).ready, r.report(true).reason], [false, 'no endpoint in rotation: the set is empty']);
});
