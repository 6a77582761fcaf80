/**
 * The k8s source against a misbehaving API server and failing credentials: paged lists and expired
 * continue tokens, 429 and 503 with Retry-After, 500, 403, a stalled list, a watch gone silent, an
 * exec credential plugin whose token rotates or that fails. Static stability throughout: the last
 * set serves and each failure state is reported once.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EndpointSet } from '../../../src/balancer/endpoint.js';
import { kubeconfigConnection } from '../../../src/discovery/k8s/cluster-connection.js';
import type { Timers } from '../../../src/discovery/static-file.js';
import { podEndpoint, slice } from '../../helpers/fake-apiserver.js';
import type { FakeApiServer } from '../../helpers/fake-apiserver.js';
import { ExecPlugin } from '../../helpers/exec-plugin.js';
import { writeKubeconfig } from '../../helpers/kubeconfig.js';
import { until } from '../../helpers/until.js';
import type { Recorder } from '../recorder.js';
import { lists, nextSet, start, view, watchRequests } from './source-fixture.js';

/** Real timers that remember every delay asked of them. */
function recordingTimers(): { readonly timers: Timers; readonly delays: number[] } {
  const delays: number[] = [];
  return {
    delays,
    timers: {
      setTimeout: (callback, ms) => {
        delays.push(ms);
        return setTimeout(callback, ms);
      },
      clearTimeout: (timer) => clearTimeout(timer),
    },
  };
}

/** The next set delivered, past any error reports. */
async function nextSetPastErrors(rec: Recorder): Promise<EndpointSet> {
  for (;;) {
    const d = await rec.next();
    if (d.kind === 'set') return d.set;
  }
}

const listQueries = (api: FakeApiServer): URLSearchParams[] => api.requests.filter((r) => r.path.endsWith('/endpointslices') && r.query.get('watch') === null).map((r) => r.query);
const seedWeb = (api: FakeApiServer): void => void api.apply(slice('default', 'web', 'web-a', [podEndpoint('web-0', '10.0.0.1')]));

test('k8s source: lists in pages of listPageSize, merged, and watches from the list\'s resourceVersion', async (t) => {
  const { api, source, rec } = await start(t, true, (api) => {
    for (let i = 0; i < 5; i++) api.apply(slice('default', 'web', `web-${i}`, [podEndpoint(`web-${i}`, `10.0.0.${i + 1}`)]));
    api.apply(slice('default', 'other', 'other-a', [podEndpoint('other-0', '10.9.0.1')]));
  }, 'k8s:default/web', { listPageSize: 2 });
  assert.deepEqual(rec.sets[0]!.endpoints.map((e) => e.name), ['web-0', 'web-1', 'web-2', 'web-3', 'web-4']);
  const pages = listQueries(api);
  assert.deepEqual(pages.map((q) => [q.get('limit'), q.get('continue') !== null]), [['2', false], ['2', true], ['2', true]]);
  await api.watchesStarted(1);
  assert.equal(watchRequests(api)[0]!.get('resourceVersion'), api.resourceVersion);
  assert.equal(source.resourceVersion, api.resourceVersion);
});

test('k8s source: the default page size is 500', async (t) => {
  const { api } = await start(t, false, seedWeb);
  assert.equal(listQueries(api)[0]!.get('limit'), '500');
});

test('k8s source: an expired continue token restarts the list whole, in one request, then watches', async (t) => {
  const { api, source, rec } = await start(t, false, (api) => {
    for (let i = 0; i < 5; i++) api.apply(slice('default', 'web', `web-${i}`, [podEndpoint(`web-${i}`, `10.0.0.${i + 1}`)]));
  }, 'k8s:default/web', { listPageSize: 2 });
  await api.watchesStarted(1);
  api.expireContinues(1);
  api.cutWatches();
  // Meanwhile web-4 went, and the history was compacted: only a list sees it.
  api.delete('default', 'web-4');
  api.compact();
  const set = await nextSet(rec);
  assert.deepEqual(set.endpoints.map((e) => e.name), ['web-0', 'web-1', 'web-2', 'web-3']);
  const second = listQueries(api).slice(3);
  assert.deepEqual(second.map((q) => [q.get('limit'), q.get('continue') !== null]), [['2', false], ['2', true], [null, false]], 'page 1, the expired page 2, then one whole list');
  await api.watchesStarted(2);
  assert.equal(watchRequests(api).at(-1)!.get('resourceVersion'), api.resourceVersion);
  assert.equal(rec.errors.length, 0);
  assert.ok(source.ready);
});

test('k8s source: a 429 with Retry-After waits at least that long; a 503 asking for longer waits the backoff\'s maximum', async (t) => {
  const { timers, delays } = recordingTimers();
  const { api, source, rec } = await start(t, false, (api) => {
    seedWeb(api);
    api.failNext(1, 429, { retryAfterSeconds: 1 });
  }, 'k8s:default/web', { timers, backoff: { initialMs: 10, maxMs: 1_500 }, requestTimeoutMs: 5_000 });
  const first = rec.events[0]!;
  assert.equal(first.kind, 'error');
  assert.match((first as { error: Error }).error.message, /HTTP 429 TooManyRequests/);
  assert.deepEqual(view(await nextSet(rec)), ['web-0@10.0.0.1:8080 zone-a']);
  const waits = (): number[] => delays.filter((d) => d < 5_000);
  assert.equal(waits().length, 1, `waits ${delays.join(', ')}`);
  assert.ok(waits()[0]! >= 1_000 && waits()[0]! <= 1_500, `waited ${waits()[0]} ms for Retry-After: 1`);

  await api.watchesStarted(1);
  api.failNext(1, 503, { retryAfterSeconds: 120 });
  api.cutWatches();
  await until('the 503 retried', () => watchRequests(api).length >= 3);
  assert.equal(waits().length, 3);
  assert.ok(waits()[1]! <= 10, 'a broken watch is reopened after the shortest backoff');
  assert.equal(waits()[2], 1_500, 'Retry-After: 120 is capped at the backoff maximum');
  await until('back in sync', () => source.ready);
  assert.equal(lists(api), 2, 'the refused list and the one that got through; the watch resumed without a third');
});

test('k8s source: a 500 backs off, growing, reported once; the last set serves', async (t) => {
  const { timers, delays } = recordingTimers();
  const { api, source, rec } = await start(t, false, seedWeb, 'k8s:default/web', { timers, backoff: { initialMs: 20, maxMs: 1_000 }, requestTimeoutMs: 5_000 });
  await api.watchesStarted(1);
  api.failNext(4, 500);
  const mark = delays.length;
  api.cutWatches();
  api.apply(slice('default', 'web', 'web-a', [podEndpoint('web-0', '10.0.0.1'), podEndpoint('web-1', '10.0.0.2')]));
  assert.deepEqual(view(await nextSetPastErrors(rec)), ['web-0@10.0.0.1:8080 zone-a', 'web-1@10.0.0.2:8080 zone-a']);
  assert.equal(rec.errors.length, 1, rec.errors.map((e) => e.message).join(' | '));
  assert.match(rec.errors[0]!.message, /HTTP 500 InternalError/);
  assert.match(rec.errors[0]!.message, /still serving the previous set/);
  const waits = delays.slice(mark).filter((d) => d < 5_000);
  // The cut, then four 500s: ceilings 20, 40, 80, 160, 320, each wait in the upper half.
  assert.equal(waits.length, 5, `waits ${waits.join(', ')}`);
  waits.forEach((d, i) => {
    const ceiling = 20 * 2 ** i;
    assert.ok(d >= ceiling / 2 && d <= ceiling, `wait ${i} is ${d} ms, outside [${ceiling / 2}, ${ceiling}]`);
  });
  assert.ok(source.ready);
});

test('k8s source: a 403 is reported once with RBAC advice naming the namespace; the last set serves until RBAC is fixed', async (t) => {
  const { api, source, rec } = await start(t, false, seedWeb);
  await api.watchesStarted(1);
  api.failNext(6, 403);
  api.cutWatches();
  const d = await rec.next();
  assert.equal(d.kind, 'error');
  const message = (d as { error: Error }).error.message;
  assert.match(message, /HTTP 403 Forbidden/);
  assert.match(message, /cannot watch resource "endpointslices"/, 'the server\'s words are kept');
  assert.match(message, /RBAC allows get, list and watch on endpointslices \(discovery\.k8s\.io\) in namespace default/);
  assert.deepEqual(view(source.current!), ['web-0@10.0.0.1:8080 zone-a']);
  api.apply(slice('default', 'web', 'web-a', [podEndpoint('web-0', '10.0.0.1'), podEndpoint('web-1', '10.0.0.2')]));
  assert.deepEqual(view(await nextSet(rec)), ['web-0@10.0.0.1:8080 zone-a', 'web-1@10.0.0.2:8080 zone-a']);
  assert.equal(rec.errors.length, 1);
  assert.equal(watchRequests(api).length, 8, 'the watch, six refusals, the watch that got through');
});

test('k8s source: a stalled list times out, is reported once, and is retried until it completes', async (t) => {
  const { api, source, rec } = await start(t, false, (api) => {
    seedWeb(api);
    api.stall(true);
  }, 'k8s:default/web', { requestTimeoutMs: 150 });
  const first = rec.events[0]!;
  assert.equal(first.kind, 'error');
  assert.match((first as { error: Error }).error.message, /the list did not complete within 150 ms/);
  assert.equal(source.current, null);
  await until('retried', () => lists(api) >= 3);
  assert.equal(rec.errors.length, 1, 'one report for the timeout state');
  api.stall(false);
  assert.deepEqual(view(await nextSet(rec)), ['web-0@10.0.0.1:8080 zone-a']);
  assert.ok(source.ready);
});

test('k8s source: a watch silent past timeoutSeconds plus the slack is abandoned and reopened from its resourceVersion', async (t) => {
  const { api, source, rec } = await start(t, false, seedWeb, 'k8s:default/web', { watchTimeoutSeconds: 1, watchIdleSlackMs: 200, requestTimeoutMs: 300 });
  await api.watchesStarted(1);
  const rv = source.resourceVersion;
  // The connection dies silently: no events, no bookmarks, no end at timeoutSeconds.
  api.stall(true);
  api.apply(slice('default', 'web', 'web-a', [podEndpoint('web-0', '10.0.0.1'), podEndpoint('web-1', '10.0.0.2')]));
  await until('the silent watch abandoned and a new one asked for', () => watchRequests(api).length >= 2, 5_000);
  assert.equal(watchRequests(api)[1]!.get('resourceVersion'), rv);
  // The new watch stalls too (no headers): that is reported, once.
  const d = await rec.next();
  assert.equal(d.kind, 'error');
  assert.match((d as { error: Error }).error.message, /the watch got no response headers within 300 ms/);
  api.stall(false);
  assert.deepEqual(view(await nextSet(rec)), ['web-0@10.0.0.1:8080 zone-a', 'web-1@10.0.0.2:8080 zone-a']);
  assert.equal(lists(api), 1, 'resumed, not relisted');
  assert.equal(rec.errors.length, 1);
});

test('k8s source: an exec plugin\'s token rotated on the server: the 401 runs the plugin again and the watch resumes, unreported', async (t) => {
  const plugin = await ExecPlugin.create(t, 'test-token');
  const { api, source, rec } = await start(t, true, seedWeb, 'k8s:default/web', {}, async (api) => kubeconfigConnection(await writeKubeconfig(t, api, plugin.user())));
  await api.watchesStarted(1);
  const rv = source.resourceVersion;
  assert.equal(plugin.runs().length, 1, 'one run serves the list and the watch');
  api.token = 'rotated-token';
  await plugin.set('token', 'rotated-token');
  api.cutWatches();
  await api.watchesStarted(2);
  assert.equal(plugin.runs().length, 2);
  assert.equal(watchRequests(api).at(-1)!.get('resourceVersion'), rv);
  api.apply(slice('default', 'web', 'web-a', [podEndpoint('web-0', '10.0.0.1'), podEndpoint('web-1', '10.0.0.2')]));
  assert.deepEqual(view(await nextSet(rec)), ['web-0@10.0.0.1:8080 zone-a', 'web-1@10.0.0.2:8080 zone-a']);
  assert.equal(rec.errors.length, 0);
  assert.equal(lists(api), 1);
});

test('k8s source: a failing exec plugin is reported once, naming the user and quoting stderr; the last set serves until it works again', async (t) => {
  const plugin = await ExecPlugin.create(t, 'test-token');
  const { api, source, rec } = await start(t, false, seedWeb, 'k8s:default/web', {}, async (api) => kubeconfigConnection(await writeKubeconfig(t, api, plugin.user())));
  await api.watchesStarted(1);
  api.token = 'after-login';
  await plugin.set('token', null);
  api.cutWatches();
  const d = await rec.next();
  assert.equal(d.kind, 'error');
  const message = (d as { error: Error }).error.message;
  assert.match(message, /user "fake-user"/);
  assert.match(message, /no cached login for this cluster: run `fake-login` first/);
  assert.match(message, /still serving the previous set/);
  await until('the plugin retried', () => plugin.runs().length >= 4);
  assert.equal(rec.errors.length, 1, rec.errors.map((e) => e.message).join(' | '));
  assert.ok(!source.ready);
  assert.deepEqual(view(source.current!), ['web-0@10.0.0.1:8080 zone-a']);
  await plugin.set('token', 'after-login');
  api.apply(slice('default', 'web', 'web-a', [podEndpoint('web-0', '10.0.0.1'), podEndpoint('web-1', '10.0.0.2')]));
  assert.deepEqual(view(await nextSet(rec)), ['web-0@10.0.0.1:8080 zone-a', 'web-1@10.0.0.2:8080 zone-a']);
  assert.ok(source.ready);
});
