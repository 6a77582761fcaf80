import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EndpointSet } from '../../../src/balancer/endpoint.js';
import { podEndpoint, slice } from '../../helpers/fake-apiserver.js';
import { until } from '../../helpers/until.js';
import { lists, nextSet, start, view, watchRequests } from './source-fixture.js';

for (const tls of [false, true]) {
  const over = tls ? 'TLS, in-cluster config' : 'HTTP, kubeconfig';
  test(`k8s source (${over}): follows scale-up, scale-down, a restart with a new IP and a terminating pod`, async (t) => {
    const { api, source, rec } = await start(t, tls, (api) => {
      api.apply(slice('default', 'web', 'web-a', [podEndpoint('web-0', '10.0.0.1'), podEndpoint('web-1', '10.0.0.2', { zone: 'zone-b' })]));
      api.apply(slice('default', 'other', 'other-a', [podEndpoint('other-0', '10.9.0.1')]));
    });
    assert.deepEqual(view(rec.sets[0]!), ['web-0@10.0.0.1:8080 zone-a', 'web-1@10.0.0.2:8080 zone-b']);
    assert.equal(source.ready, true);
    await api.watchesStarted(1);
    const watch = watchRequests(api)[0]!;
    assert.equal(watch.get('allowWatchBookmarks'), 'true');
    assert.equal(watch.get('resourceVersion'), api.resourceVersion, 'the watch starts at the list resourceVersion');

    // Scale-up: a second slice for the same Service is merged in.
    api.apply(slice('default', 'web', 'web-b', [podEndpoint('web-2', '10.0.0.3')]));
    assert.deepEqual(view(await nextSet(rec)), ['web-0@10.0.0.1:8080 zone-a', 'web-1@10.0.0.2:8080 zone-b', 'web-2@10.0.0.3:8080 zone-a']);

    // A restart with a new IP: same name, only the address changes.
    api.apply(slice('default', 'web', 'web-a', [podEndpoint('web-0', '10.0.0.11'), podEndpoint('web-1', '10.0.0.2', { zone: 'zone-b' })]));
    const restarted = await nextSet(rec);
    assert.deepEqual(view(restarted), ['web-0@10.0.0.11:8080 zone-a', 'web-1@10.0.0.2:8080 zone-b', 'web-2@10.0.0.3:8080 zone-a']);

    // Terminating but serving: draining. Not ready and not terminating: out.
    api.apply(slice('default', 'web', 'web-a', [
      podEndpoint('web-0', '10.0.0.11', { conditions: { ready: false, serving: true, terminating: true } }),
      podEndpoint('web-1', '10.0.0.2', { zone: 'zone-b', conditions: { ready: false, serving: false, terminating: false } }),
    ]));
    assert.deepEqual(view(await nextSet(rec)), ['web-0@10.0.0.11:8080 draining zone-a', 'web-2@10.0.0.3:8080 zone-a']);

    // Scale-down: the slice goes.
    api.delete('default', 'web-a');
    const down = await nextSet(rec);
    assert.deepEqual(view(down), ['web-2@10.0.0.3:8080 zone-a']);
    assert.ok(down.version > restarted.version);
    // Changes to another Service never reached this watch.
    api.apply(slice('default', 'other', 'other-a', [podEndpoint('other-1', '10.9.0.2')]));
    api.apply(slice('default', 'web', 'web-b', [podEndpoint('web-2', '10.0.0.3'), podEndpoint('web-3', '10.0.0.4')]));
    assert.deepEqual(view(await nextSet(rec)), ['web-2@10.0.0.3:8080 zone-a', 'web-3@10.0.0.4:8080 zone-a']);
    assert.equal(rec.errors.length, 0);
    assert.equal(lists(api), 1, 'one list, then the watch carried everything');
  });

  test(`k8s source (${over}): a stream cut mid-event reconnects from the last resourceVersion, without a relist`, async (t) => {
    const { api, source, rec } = await start(t, tls, (api) => api.apply(slice('default', 'web', 'web-a', [podEndpoint('web-0', '10.0.0.1')])));
    await api.watchesStarted(1);
    const rv = source.resourceVersion;
    api.cutWatches();
    // Made while no watch is open: the next watch must replay it from history.
    api.apply(slice('default', 'web', 'web-a', [podEndpoint('web-0', '10.0.0.1'), podEndpoint('web-1', '10.0.0.2')]));
    const set = await (async () => {
      for (;;) {
        const d = await rec.next();
        if (d.kind === 'set') return d.set;
      }
    })();
    assert.deepEqual(view(set), ['web-0@10.0.0.1:8080 zone-a', 'web-1@10.0.0.2:8080 zone-a']);
    assert.equal(watchRequests(api)[1]?.get('resourceVersion'), rv);
    assert.equal(lists(api), 1);
    assert.equal(rec.errors.length, 0, 'a stream that broke after it opened is retried without a report');
    await until('back in sync', () => source.ready);
  });
}

test('k8s source: a pod name a header cannot carry refuses the set, reported once, and the previous set keeps serving until a good one comes', async (t) => {
  const { api, source, rec } = await start(t, false, (api) => api.apply(slice('default', 'web', 'web-a', [podEndpoint('web-0', '10.0.0.1')])));
  await api.watchesStarted(1);
  api.apply(slice('default', 'web', 'web-a', [podEndpoint('web-0', '10.0.0.1'), podEndpoint('web-\u2603', '10.0.0.2')]));
  const refused = await rec.next();
  assert.equal(refused.kind, 'error');
  assert.match(refused.kind === 'error' ? refused.error.message : '', /name: is "web-\u2603": .*only visible ASCII.*; the set is refused, still serving the previous set \(version 1, 1 endpoints\)$/);
  assert.deepEqual(source.status(), { state: 'stale', error: source.lastError });
  assert.match(source.lastError ?? '', /web-\u2603/);
  // The same refusal again is not reported again; a set without the name is published.
  api.apply(slice('default', 'web', 'web-a', [podEndpoint('web-0', '10.0.0.3'), podEndpoint('web-\u2603', '10.0.0.2')]));
  api.apply(slice('default', 'web', 'web-a', [podEndpoint('web-0', '10.0.0.1'), podEndpoint('web-1', '10.0.0.2')]));
  assert.deepEqual(view(await nextSet(rec)), ['web-0@10.0.0.1:8080 zone-a', 'web-1@10.0.0.2:8080 zone-a']);
  assert.equal(rec.errors.length, 1);
  assert.deepEqual(source.status(), { state: 'synced', error: null });
  assert.equal(lists(api), 1, 'the watch went on: only the set was refused');
});

test('k8s source: a BOOKMARK advances the resourceVersion without a new set, and the next watch resumes from it', async (t) => {
  const { api, source, rec } = await start(t, false, (api) => api.apply(slice('default', 'web', 'web-a', [podEndpoint('web-0', '10.0.0.1')])));
  await api.watchesStarted(1);
  const before = source.resourceVersion;
  api.unrelatedChange();
  api.unrelatedChange();
  api.bookmark();
  await until('bookmark applied', () => source.resourceVersion === api.resourceVersion);
  assert.notEqual(source.resourceVersion, before);
  assert.equal(rec.events.length, 1, 'a bookmark publishes nothing');
  api.cutWatches();
  await api.watchesStarted(2);
  assert.equal(watchRequests(api)[1]?.get('resourceVersion'), api.resourceVersion);
});

for (const form of ['http', 'event'] as const) {
  test(`k8s source: a 410 in the ${form} form is answered with a fresh list, which replaces the slices whole`, async (t) => {
    const { api, source, rec } = await start(t, form === 'event', (api) => {
      api.apply(slice('default', 'web', 'web-a', [podEndpoint('web-0', '10.0.0.1')]));
      api.apply(slice('default', 'web', 'web-b', [podEndpoint('web-1', '10.0.0.2')]));
    });
    await api.watchesStarted(1);
    api.expiredForm = form;
    api.cutWatches();
    // Missed while disconnected, and then forgotten by the server: only a relist can see them.
    api.delete('default', 'web-b');
    api.apply(slice('default', 'web', 'web-c', [podEndpoint('web-2', '10.0.0.3')]));
    api.compact();
    let set: EndpointSet | null = null;
    while (set === null) {
      const d = await rec.next();
      if (d.kind === 'set') set = d.set;
    }
    assert.deepEqual(view(set), ['web-0@10.0.0.1:8080 zone-a', 'web-2@10.0.0.3:8080 zone-a']);
    assert.equal(lists(api), 2);
    await api.watchesStarted(2);
    assert.equal(watchRequests(api).at(-1)?.get('resourceVersion'), api.resourceVersion);
    assert.ok(source.ready);
  });
}

test('k8s source: an ERROR 410 event on an open watch relists; the same slices publish nothing', async (t) => {
  const { api, source, rec } = await start(t, false, (api) => api.apply(slice('default', 'web', 'web-a', [podEndpoint('web-0', '10.0.0.1')])));
  await api.watchesStarted(1);
  api.expireWatches();
  await api.watchesStarted(2);
  assert.equal(lists(api), 2);
  assert.equal(rec.events.length, 1);
  assert.ok(source.ready);
});

test('k8s source: a rejected token keeps the last set, is reported once, and recovers', async (t) => {
  const { api, source, rec } = await start(t, false, (api) => api.apply(slice('default', 'web', 'web-a', [podEndpoint('web-0', '10.0.0.1')])));
  await api.watchesStarted(1);
  const good = api.token;
  api.token = 'rotated-elsewhere';
  api.cutWatches();
  const first = await rec.next();
  assert.equal(first.kind, 'error');
  await until('not ready', () => !source.ready);
  const refused = (): number => api.requests.filter((r) => r.query.get('watch') === 'true').length;
  const before = refused();
  await until('several retries', () => refused() >= before + 3);
  assert.equal(rec.errors.length, 1, `one report for the 401 state: ${rec.errors.map((e) => e.message).join(' | ')}`);
  assert.match(rec.errors[0]!.message, /401/);
  assert.match(rec.errors[0]!.message, /still serving the previous set/);
  assert.deepEqual(view(source.current!), ['web-0@10.0.0.1:8080 zone-a']);
  assert.match(source.lastError ?? '', /401/);
  api.token = good;
  api.apply(slice('default', 'web', 'web-a', [podEndpoint('web-0', '10.0.0.1'), podEndpoint('web-1', '10.0.0.2')]));
  assert.deepEqual(view(await nextSet(rec)), ['web-0@10.0.0.1:8080 zone-a', 'web-1@10.0.0.2:8080 zone-a']);
  assert.ok(source.ready);
  assert.equal(source.lastError, null);
});

test('k8s source: the API server down, then back: the last set serves, one report, then the changes made meanwhile', async (t) => {
  const { api, source, rec } = await start(t, true, (api) => api.apply(slice('default', 'web', 'web-a', [podEndpoint('web-0', '10.0.0.1')])));
  await api.watchesStarted(1);
  await api.goDown();
  const d = await rec.next();
  assert.equal(d.kind, 'error');
  assert.ok(!source.ready);
  // Long enough for several backoff rounds (10 to 50 ms each).
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(rec.errors.length, 1, rec.errors.map((e) => e.message).join(' | '));
  assert.deepEqual(view(source.current!), ['web-0@10.0.0.1:8080 zone-a']);
  api.apply(slice('default', 'web', 'web-a', [podEndpoint('web-0', '10.0.0.1'), podEndpoint('web-1', '10.0.0.2')]));
  await api.comeBack();
  assert.deepEqual(view(await nextSet(rec)), ['web-0@10.0.0.1:8080 zone-a', 'web-1@10.0.0.2:8080 zone-a']);
  assert.ok(source.ready);
  assert.equal(lists(api), 1, 'resumed from the resourceVersion it had');
});

test('k8s source: a watch ended by the server at timeoutSeconds is renewed from the same resourceVersion', async (t) => {
  const { api, source, rec } = await start(t, false, (api) => api.apply(slice('default', 'web', 'web-a', [podEndpoint('web-0', '10.0.0.1')])), 'k8s:default/web', { watchTimeoutSeconds: 1 });
  await api.watchesStarted(2);
  const [a, b] = watchRequests(api);
  assert.equal(a?.get('timeoutSeconds'), '1');
  assert.equal(b?.get('resourceVersion'), a?.get('resourceVersion'));
  assert.equal(lists(api), 1);
  assert.equal(rec.events.length, 1);
  assert.ok(source.ready);
});

test('k8s source: an endpoint moving between slices publishes nothing; a missing named port is reported', async (t) => {
  const { api, rec } = await start(t, false, (api) => {
    api.apply(slice('default', 'web', 'web-a', [podEndpoint('web-0', '10.0.0.1')], { http: 8080, grpc: 9090 }));
    api.apply(slice('default', 'web', 'web-b', [podEndpoint('web-1', '10.0.0.2')], { http: 8080, grpc: 9090 }));
  }, 'k8s:default/web:grpc');
  assert.deepEqual(view(rec.sets[0]!), ['web-0@10.0.0.1:9090 zone-a', 'web-1@10.0.0.2:9090 zone-a']);
  await api.watchesStarted(1);
  // The controller adds to the new slice before removing from the old one.
  api.apply(slice('default', 'web', 'web-b', [podEndpoint('web-1', '10.0.0.2'), podEndpoint('web-0', '10.0.0.1')], { http: 8080, grpc: 9090 }));
  api.apply(slice('default', 'web', 'web-a', [], { http: 8080, grpc: 9090 }));
  api.apply(slice('default', 'web', 'web-c', [podEndpoint('web-2', '10.0.0.3')], { http: 8080 }));
  const d = await rec.next();
  assert.equal(d.kind, 'error');
  assert.match((d as { error: Error }).error.message, /web-c: has no TCP port named "grpc"/);
  assert.equal(rec.sets.length, 1);
});
