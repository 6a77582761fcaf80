/**
 * A k8s EndpointSliceSource following the fake API server, its deliveries recorded, closed when the
 * test ends; and views of what it published and what the server was asked.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { EndpointSet } from '../../../src/balancer/endpoint.js';
import { seededRng } from '../../../src/balancer/rng.js';
import { inClusterConnection, kubeconfigConnection } from '../../../src/discovery/k8s/cluster-connection.js';
import type { ClusterConnection } from '../../../src/discovery/k8s/cluster-connection.js';
import { parseK8sDiscoverySpec } from '../../../src/discovery/k8s/discovery-spec.js';
import { EndpointSliceSource } from '../../../src/discovery/k8s/endpoint-slice-source.js';
import type { EndpointSliceSourceOptions } from '../../../src/discovery/k8s/endpoint-slice-source.js';
import { FakeApiServer } from '../../helpers/fake-apiserver.js';
import { writeKubeconfig } from '../../helpers/kubeconfig.js';
import { Recorder } from '../recorder.js';

export interface Fixture {
  readonly api: FakeApiServer;
  readonly source: EndpointSliceSource;
  readonly rec: Recorder;
}

/** The in-cluster files of a pod, in a temporary directory, pointing at the fake server. */
async function inCluster(t: TestContext, api: FakeApiServer): Promise<ClusterConnection> {
  const dir = await mkdtemp(join(tmpdir(), 'shardgate-sa-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'token'), `${api.token}\n`);
  await writeFile(join(dir, 'ca.crt'), api.ca);
  await writeFile(join(dir, 'namespace'), 'default');
  const port = new URL(api.url).port;
  return inClusterConnection({ env: { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: port }, serviceAccountDir: dir });
}

/**
 * Starts the fake (seeded) and a source following it, and waits for the first delivery. Over TLS
 * the source connects through in-cluster service account files, over HTTP through a kubeconfig,
 * unless `connect` says how.
 */
export async function start(t: TestContext, tls: boolean, seed: (api: FakeApiServer) => void, spec = 'k8s:default/web:http', options: EndpointSliceSourceOptions = {}, connect?: (api: FakeApiServer) => Promise<ClusterConnection>): Promise<Fixture> {
  const api = await FakeApiServer.start({ tls });
  t.after(() => api.close());
  seed(api);
  const connection = connect !== undefined ? await connect(api) : tls ? await inCluster(t, api) : kubeconfigConnection(await writeKubeconfig(t, api));
  const source = new EndpointSliceSource(parseK8sDiscoverySpec(spec), connection, { rng: seededRng(1), backoff: { initialMs: 10, maxMs: 50 }, ...options });
  const rec = new Recorder().subscribe(source);
  t.after(async () => {
    rec.unsubscribe();
    await source.closed();
  });
  await rec.at(0);
  return { api, source, rec };
}

export function view(set: EndpointSet): string[] {
  return set.endpoints.map((e) => `${e.name}@${e.address}${e.draining ? ' draining' : ''}${e.zone === null ? '' : ` ${e.zone}`}`);
}

export async function nextSet(rec: Recorder): Promise<EndpointSet> {
  const d = await rec.next();
  assert.equal(d.kind, 'set', d.kind === 'error' ? d.error.message : '');
  return (d as { set: EndpointSet }).set;
}

export const lists = (api: FakeApiServer): number => api.requests.filter((r) => r.path.endsWith('/endpointslices') && r.query.get('watch') === null).length;
export const watchRequests = (api: FakeApiServer): URLSearchParams[] => api.requests.filter((r) => r.query.get('watch') === 'true').map((r) => r.query);

