/**
 * Holds the fake API server honest with a real Kubernetes client that runs everywhere (kubectl is
 * not installed on every machine): @kubernetes/client-node reads a kubeconfig for the fake over TLS
 * with a bearer token, lists EndpointSlices (whole and paged), watches them with bookmarks, reads a
 * Node, and must see what the store holds: the objects, the resourceVersions, the 410 of a
 * compacted history in either of its forms, and a 401 for a wrong token.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import { ApiException, CoreV1Api, DiscoveryV1Api, KubeConfig, Watch } from '@kubernetes/client-node';
import { FakeApiServer, podEndpoint, slice } from '../../helpers/fake-apiserver.js';
import { writeKubeconfig } from '../../helpers/kubeconfig.js';
import { until } from '../../helpers/until.js';

const SLICES = '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices';
const WEB = 'kubernetes.io/service-name=web';

async function client(t: TestContext, api: FakeApiServer, user?: Record<string, unknown>): Promise<KubeConfig> {
  const kc = new KubeConfig();
  kc.loadFromFile(await writeKubeconfig(t, api, user));
  return kc;
}

interface Seen {
  readonly type: string;
  readonly object: { kind?: string; code?: number; reason?: string; metadata?: { name?: string; resourceVersion?: string }; endpoints?: { addresses: string[] }[] };
}

/** A client-node watch, its events in order, and how it ended (null while open). */
async function watch(kc: KubeConfig, query: Record<string, string | boolean>): Promise<{ events: Seen[]; ended: () => Promise<unknown>; stop: () => void }> {
  const events: Seen[] = [];
  let settle: (err: unknown) => void = () => undefined;
  const done = new Promise<unknown>((resolve) => (settle = resolve));
  const controller = await new Watch(kc).watch(SLICES, query, (type, object) => events.push({ type, object: object as Seen['object'] }), (err) => settle(err ?? null));
  return { events, ended: () => done, stop: () => controller.abort() };
}

test('fake apiserver: client-node lists the Service\'s slices over TLS with the token, as the store holds them', async (t) => {
  const api = await FakeApiServer.start({ tls: true });
  t.after(() => api.close());
  api.apply(slice('default', 'web', 'web-abc', [podEndpoint('web-0', '10.0.0.1'), podEndpoint('web-1', '10.0.0.2', { zone: 'zone-b' })]));
  api.apply(slice('default', 'other', 'other-abc', [podEndpoint('other-0', '10.0.1.1')]));
  const kc = await client(t, api);
  const list = await kc.makeApiClient(DiscoveryV1Api).listNamespacedEndpointSlice({ namespace: 'default', labelSelector: WEB });
  assert.equal(list.metadata?.resourceVersion, api.resourceVersion);
  assert.deepEqual(list.items.map((s) => [s.metadata?.name, s.metadata?.resourceVersion, s.addressType]), [['web-abc', '1001', 'IPv4']]);
  assert.deepEqual(list.items[0]!.endpoints.map((e) => [e.targetRef?.name, e.addresses[0], e.zone, e.conditions?.ready]), [['web-0', '10.0.0.1', 'zone-a', true], ['web-1', '10.0.0.2', 'zone-b', true]]);
  assert.deepEqual(list.items[0]!.ports?.map((p) => [p.name, p.port, p.protocol]), [['http', 8080, 'TCP']]);
  const request = api.requests.at(-1)!;
  assert.equal(request.query.get('labelSelector'), WEB);
});

test('fake apiserver: client-node pages a list with limit and continue, every page at the first page\'s resourceVersion', async (t) => {
  const api = await FakeApiServer.start({ tls: true });
  t.after(() => api.close());
  for (let i = 0; i < 5; i++) api.apply(slice('default', 'web', `web-${i}`, [podEndpoint(`web-${i}`, `10.0.0.${i + 1}`)]));
  const rv = api.resourceVersion;
  const slices = (await client(t, api)).makeApiClient(DiscoveryV1Api);
  const first = await slices.listNamespacedEndpointSlice({ namespace: 'default', labelSelector: WEB, limit: 2 });
  assert.deepEqual(first.items.map((s) => s.metadata?.name), ['web-0', 'web-1']);
  assert.equal(first.metadata?.remainingItemCount, 3);
  assert.ok((first.metadata?._continue ?? '') !== '');
  // Written between pages: not in this list, which is one snapshot.
  api.apply(slice('default', 'web', 'web-9', [podEndpoint('web-9', '10.0.0.9')]));
  const names = first.items.map((s) => s.metadata?.name);
  let next = first.metadata?._continue;
  while (next !== undefined && next !== '') {
    const page = await slices.listNamespacedEndpointSlice({ namespace: 'default', labelSelector: WEB, limit: 2, _continue: next });
    assert.equal(page.metadata?.resourceVersion, rv);
    names.push(...page.items.map((s) => s.metadata?.name));
    next = page.metadata?._continue;
  }
  assert.deepEqual(names, ['web-0', 'web-1', 'web-2', 'web-3', 'web-4']);
  // An expired continue token: a 410 that client-node surfaces as such.
  const again = await slices.listNamespacedEndpointSlice({ namespace: 'default', labelSelector: WEB, limit: 2 });
  api.expireContinues(1);
  await assert.rejects(slices.listNamespacedEndpointSlice({ namespace: 'default', labelSelector: WEB, limit: 2, _continue: again.metadata!._continue! }), (e: unknown) => e instanceof ApiException && e.code === 410);
});

test('fake apiserver: client-node watches from the list resourceVersion: ADDED, MODIFIED, DELETED and BOOKMARK in order', async (t) => {
  const api = await FakeApiServer.start({ tls: true });
  t.after(() => api.close());
  api.apply(slice('default', 'web', 'web-a', [podEndpoint('web-0', '10.0.0.1')]));
  const kc = await client(t, api);
  const list = await kc.makeApiClient(DiscoveryV1Api).listNamespacedEndpointSlice({ namespace: 'default', labelSelector: WEB });
  const w = await watch(kc, { labelSelector: WEB, resourceVersion: list.metadata!.resourceVersion!, allowWatchBookmarks: true });
  t.after(() => w.stop());
  await api.watchesStarted(1);
  const added = api.apply(slice('default', 'web', 'web-b', [podEndpoint('web-1', '10.0.0.2')]));
  const modified = api.apply(slice('default', 'web', 'web-a', [podEndpoint('web-0', '10.0.0.9')]));
  api.apply(slice('default', 'other', 'other-a', [podEndpoint('other-0', '10.0.1.1')]));
  const deleted = api.delete('default', 'web-b');
  api.unrelatedChange();
  api.bookmark();
  await until('four events', () => w.events.length >= 4);
  assert.deepEqual(w.events.map((e) => [e.type, e.object.metadata?.name ?? null, e.object.metadata?.resourceVersion]), [
    ['ADDED', 'web-b', added],
    ['MODIFIED', 'web-a', modified],
    ['DELETED', 'web-b', deleted],
    ['BOOKMARK', null, api.resourceVersion],
  ]);
  assert.equal(w.events[1]!.object.endpoints![0]!.addresses[0], '10.0.0.9');
  assert.equal(w.events[3]!.object.kind, 'EndpointSlice', 'a bookmark carries the kind of the watched objects');
  const sent = api.requests.find((r) => r.query.get('watch') === 'true')!;
  assert.equal(sent.query.get('allowWatchBookmarks'), 'true');
  assert.equal(sent.query.get('resourceVersion'), list.metadata!.resourceVersion);
});

test('fake apiserver: client-node sees a watch from a compacted resourceVersion end with 410, in both forms', async (t) => {
  const api = await FakeApiServer.start({ tls: true });
  t.after(() => api.close());
  api.apply(slice('default', 'web', 'web-a', [podEndpoint('web-0', '10.0.0.1')]));
  const old = api.resourceVersion;
  api.apply(slice('default', 'web', 'web-a', [podEndpoint('web-0', '10.0.0.2')]));
  api.compact();
  const kc = await client(t, api);

  api.expiredForm = 'http';
  const refused = await watch(kc, { labelSelector: WEB, resourceVersion: old, allowWatchBookmarks: true });
  const err = await refused.ended();
  assert.equal((err as { statusCode?: number } | null)?.statusCode, 410, `done got ${String(err)}`);
  assert.equal(refused.events.length, 0);

  api.expiredForm = 'event';
  const ended = await watch(kc, { labelSelector: WEB, resourceVersion: old, allowWatchBookmarks: true });
  await ended.ended();
  assert.deepEqual(ended.events.map((e) => [e.type, e.object.kind, e.object.code, e.object.reason]), [['ERROR', 'Status', 410, 'Expired']]);
});

test('fake apiserver: client-node reads a Node and its zone label', async (t) => {
  const api = await FakeApiServer.start({ tls: true });
  t.after(() => api.close());
  api.setNode('node-a', { 'topology.kubernetes.io/zone': 'zone-a', 'kubernetes.io/hostname': 'node-a' });
  const core = (await client(t, api)).makeApiClient(CoreV1Api);
  const node = await core.readNode({ name: 'node-a' });
  assert.equal(node.metadata?.labels?.['topology.kubernetes.io/zone'], 'zone-a');
  await assert.rejects(core.readNode({ name: 'node-x' }), (e: unknown) => e instanceof ApiException && e.code === 404);
  api.failNext(1, 403);
  await assert.rejects(core.readNode({ name: 'node-a' }), (e: unknown) => e instanceof ApiException && e.code === 403 && /cannot get resource \\"nodes\\"/.test(String(e.body)));
});

test('fake apiserver: client-node is refused with 401 for a wrong token, and gets the fault knobs\' Status codes', async (t) => {
  const api = await FakeApiServer.start({ tls: true });
  t.after(() => api.close());
  const wrong = (await client(t, api, { token: 'wrong' })).makeApiClient(DiscoveryV1Api);
  await assert.rejects(wrong.listNamespacedEndpointSlice({ namespace: 'default', labelSelector: WEB }), (e: unknown) => e instanceof ApiException && e.code === 401);
  const right = (await client(t, api)).makeApiClient(DiscoveryV1Api);
  api.failNext(2, 429, { retryAfterSeconds: 3 });
  for (let i = 0; i < 2; i++) {
    await assert.rejects(right.listNamespacedEndpointSlice({ namespace: 'default', labelSelector: WEB }), (e: unknown) => e instanceof ApiException && e.code === 429 && (e.headers as Record<string, string>)['retry-after'] === '3');
  }
  const list = await right.listNamespacedEndpointSlice({ namespace: 'default', labelSelector: WEB });
  assert.deepEqual(list.items, []);
});
