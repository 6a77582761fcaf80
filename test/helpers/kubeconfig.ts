/**
 * Writes a kubeconfig for a fake API server into a temporary directory: what kubectl and the
 * kubeconfig loader read in tests.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { stringify } from 'yaml';
import type { FakeApiServer } from './fake-apiserver.js';

export async function writeKubeconfig(t: TestContext, api: FakeApiServer, user: Record<string, unknown> = { token: api.token }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'shardgate-kubeconfig-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'config');
  const cluster: Record<string, unknown> = { server: api.url };
  if (api.tls) cluster['certificate-authority-data'] = Buffer.from(api.ca).toString('base64');
  await writeFile(path, stringify({
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': 'fake',
    clusters: [{ name: 'fake', cluster }],
    users: [{ name: 'fake-user', user }],
    contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'fake-user', namespace: 'default' } }],
  }));
  return path;
}
