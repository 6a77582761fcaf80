/**
 * The k8s source with `podLabels`: endpoints carry the chosen labels of their pods, found through
 * the Service's selector and followed by a second list+watch against the fake API server, with
 * relists on 410 and the last labels kept through a pod-watch outage.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import type { EndpointSet } from '../../../src/balancer/endpoint.js';
import { pod, podEndpoint, slice } from '../../helpers/fake-apiserver.js';
import type { FakeApiServer } from '../../helpers/fake-apiserver.js';
import { until } from '../../helpers/until.js';
import type { Fixture } from './source-fixture.js';
import { lists, nextSet, start } from './source-fixture.js';

const APP = { app: 'web' };

/** `name:label=value,...` per endpoint, in set order. */
function labelled(set: EndpointSet | null): string[] {
  return (set?.endpoints ?? []).map((e) => `${e.name}:${Object.entries(e.labels).map(([k, v]) => `${k}=${v}`).join(',')}`);
}

/** web-0 (v1) and web-1 (v2) behind Service web (app=web), and other-0 of another Service; waits for the labels. */
async function labelledWeb(t: TestContext, endpoints = ['web-0', 'web-1'], podLabels = ['version']): Promise<Fixture> {
  const f = await start(t, false, (api) => {
    api.setService('default', 'web', APP);
    api.apply(slice('default', 'web', 'web-a', endpoints.map((name, i) => podEndpoint(name, `10.0.0.${i + 1}`))));
    api.applyPod(pod('default', 'web-0', { ...APP, version: 'v1', tier: 'gold' }));
    api.applyPod(pod('default', 'web-1', { ...APP, version: 'v2' }));
    api.applyPod(pod('default', 'other-0', { app: 'other', version: 'v9' }));
  }, 'k8s:default/web:http', { podLabels });
  await until('the first set', () => f.source.current !== null);
  return f;
}

const podLists = (api: FakeApiServer): number => api.requests.filter((r) => r.path === '/api/v1/namespaces/default/pods' && r.query.get('watch') === null).length;

test('k8s source, pod labels: each endpoint carries the chosen labels of its pod, read through the Service\'s selector', async (t) => {
  const { api, source, rec } = await labelledWeb(t, ['web-0', 'web-1'], ['version']);
  assert.deepEqual(labelled(source.current), ['web-0:version=v1', 'web-1:version=v2'], 'version only: tier is not chosen');
  assert.ok(api.requests.some((r) => r.path === '/api/v1/namespaces/default/services/web'));
  const podList = api.requests.find((r) => r.path === '/api/v1/namespaces/default/pods')!;
  assert.equal(podList.query.get('labelSelector'), 'app=web', 'only the pods behind the Service');
  assert.equal(rec.errors.length, 0);
});

test('k8s source, pod labels: the first set waits for the pods, so no request is routed by labels not yet known', async (t) => {
  const { source, rec } = await labelledWeb(t);
  assert.deepEqual(rec.sets.map(labelled), [['web-0:version=v1', 'web-1:version=v2']], 'one set, labelled from the start');
  assert.equal(source.current, rec.sets[0]);
});

test('k8s source, pod labels: a relabelled pod publishes a new set; a change to a label not chosen publishes none', async (t) => {
  const { api, source, rec } = await labelledWeb(t);
  const before = rec.sets.length;
  api.applyPod(pod('default', 'web-0', { ...APP, version: 'v1', tier: 'silver' }));
  api.applyPod(pod('default', 'web-0', { ...APP, version: 'v2', tier: 'silver' }));
  const set = await nextSet(rec);
  assert.deepEqual(labelled(set), ['web-0:version=v2', 'web-1:version=v2']);
  assert.equal(rec.sets.length, before + 1, 'the tier change published nothing');
  assert.equal(source.current, set);
});

test('k8s source, pod labels: an endpoint whose pod is not known has no labels and stays, until its pod comes', async (t) => {
  const { api, rec } = await labelledWeb(t, ['web-0', 'web-1', 'web-2']);
  assert.deepEqual(labelled(rec.sets.at(-1)!), ['web-0:version=v1', 'web-1:version=v2', 'web-2:']);
  api.applyPod(pod('default', 'web-2', { ...APP, version: 'v2' }));
  assert.deepEqual(labelled(await nextSet(rec)), ['web-0:version=v1', 'web-1:version=v2', 'web-2:version=v2']);
  api.deletePod('default', 'web-2');
  assert.deepEqual(labelled(await nextSet(rec)), ['web-0:version=v1', 'web-1:version=v2', 'web-2:'], 'a deleted pod takes its labels, not its endpoint');
});

test('k8s source, pod labels: a pod watch that expires (410) relists the pods alone, then watches on', async (t) => {
  const { api, rec } = await labelledWeb(t);
  await api.watchesStarted(2);
  assert.equal(podLists(api), 1);
  api.expireWatches('pods');
  await api.watchesStarted(3);
  assert.equal(podLists(api), 2, 'the pods were listed again');
  assert.equal(lists(api), 1, 'the slices were not');
  assert.equal(api.requests.filter((r) => r.path.endsWith('/services/web')).length, 2, 'the selector is read again with each list');
  api.applyPod(pod('default', 'web-1', { ...APP, version: 'v3' }));
  assert.deepEqual(labelled(await nextSet(rec)), ['web-0:version=v1', 'web-1:version=v3']);
  assert.equal(rec.errors.length, 0, '410 is routine: nothing to report');
});

test('k8s source, pod labels: a pod-watch outage keeps the last labels, is reported once with the RBAC to grant, and catches up after', async (t) => {
  const { api, source, rec } = await labelledWeb(t);
  await api.watchesStarted(2);
  const kept = source.current;
  api.failNext(3, 403);
  api.cutWatches('pods');
  api.applyPod(pod('default', 'web-0', { ...APP, version: 'v2' }));
  const d = await rec.next();
  assert.equal(d.kind, 'error');
  assert.match(d.kind === 'error' ? d.error.message : '', /pods: .*403.*list and watch on pods, and get on services.*keep their last pod labels/);
  assert.equal(source.current, kept, 'the set stands');
  assert.equal(source.ready, true, 'readiness follows the slices');
  assert.deepEqual(labelled(await nextSet(rec)), ['web-0:version=v2', 'web-1:version=v2'], 'the missed relabel, replayed from the resourceVersion');
  assert.equal(rec.errors.length, 1, 'three refusals, one report');
  assert.equal(source.lastError, null);
});

test('k8s source, pod labels: without podLabels no Service or pod is read', async (t) => {
  const { api, rec } = await start(t, false, (api) => {
    api.apply(slice('default', 'web', 'web-a', [podEndpoint('web-0', '10.0.0.1')]));
    api.applyPod(pod('default', 'web-0', { ...APP, version: 'v1' }));
  });
  await api.watchesStarted(1);
  assert.deepEqual(labelled(rec.sets[0]!), ['web-0:']);
  assert.deepEqual(api.requests.filter((r) => !r.path.endsWith('/endpointslices')), []);
});
