import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import { stringify } from 'yaml';
import { chooseClusterConnection, inClusterConnection, kubeconfigConnection } from '../../../src/discovery/k8s/cluster-connection.js';
import { ConfigError } from '../../../src/errors.js';
import { TEST_CERT, TEST_KEY } from '../../helpers/tls-fixture.js';

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'shardgate-k8s-conn-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function serviceAccount(dir: string, token = 'sa-token'): Promise<void> {
  await writeFile(join(dir, 'token'), `${token}\n`);
  await writeFile(join(dir, 'ca.crt'), TEST_CERT);
  await writeFile(join(dir, 'namespace'), 'prod\n');
}

function kubeconfig(user: Record<string, unknown>, cluster: Record<string, unknown> = { server: 'https://10.1.2.3:6443/' }): string {
  return stringify({
    'current-context': 'main',
    clusters: [{ name: 'c', cluster }],
    users: [{ name: 'u', user }],
    contexts: [{ name: 'main', context: { cluster: 'c', user: 'u', namespace: 'team' } }, { name: 'other', context: { cluster: 'c' } }],
  });
}

test('in-cluster: server from KUBERNETES_SERVICE_HOST/PORT, CA and namespace from the files, the token read again on every call', async (t) => {
  const dir = await tempDir(t);
  await serviceAccount(dir);
  const c = inClusterConnection({ env: { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' }, serviceAccountDir: dir });
  assert.equal(c.server, 'https://10.96.0.1:443');
  assert.equal(c.ca, TEST_CERT);
  assert.equal(c.namespace, 'prod');
  assert.deepEqual(await c.credential(), { token: 'sa-token', cert: null, key: null });
  await writeFile(join(dir, 'token'), 'rotated\n');
  assert.equal((await c.credential()).token, 'rotated');
  assert.equal(c.rejected({ token: 'rotated', cert: null, key: null }), false, 'a file token is read anew anyway: no point in trying again at once');
  const v6 = inClusterConnection({ env: { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }, serviceAccountDir: dir });
  assert.equal(v6.server, 'https://[fd00::1]:443');
});

test('in-cluster: outside a pod, or without a token, a ConfigError says what to do', async (t) => {
  const dir = await tempDir(t);
  assert.throws(() => inClusterConnection({ env: {}, serviceAccountDir: dir }), (e: unknown) => e instanceof ConfigError && e.field === 'KUBERNETES_SERVICE_HOST' && /KUBECONFIG/.test(e.message));
  assert.throws(() => inClusterConnection({ env: { KUBERNETES_SERVICE_HOST: 'h', KUBERNETES_SERVICE_PORT: '1' }, serviceAccountDir: dir }), (e: unknown) => e instanceof ConfigError && /automountServiceAccountToken/.test(e.message));
});

test('kubeconfig: token auth, CA data, namespace and the chosen context', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'config');
  await writeFile(path, kubeconfig({ token: 'abc' }, { server: 'https://10.1.2.3:6443/', 'certificate-authority-data': Buffer.from(TEST_CERT).toString('base64'), 'tls-server-name': 'kubernetes' }));
  const c = kubeconfigConnection(path);
  assert.equal(c.server, 'https://10.1.2.3:6443');
  assert.equal((await c.credential()).token, 'abc');
  assert.equal(c.ca, TEST_CERT);
  assert.equal(c.tlsServerName, 'kubernetes');
  assert.equal(c.namespace, 'team');
  assert.equal(c.insecureSkipTlsVerify, false);
  const other = kubeconfigConnection(path, { context: 'other' });
  assert.equal((await other.credential()).token, null);
  assert.equal(other.namespace, null);
});

test('kubeconfig: client certificates from files relative to the kubeconfig, and a token file', async (t) => {
  const dir = await tempDir(t);
  await mkdir(join(dir, 'pki'));
  await writeFile(join(dir, 'pki', 'client.crt'), TEST_CERT);
  await writeFile(join(dir, 'pki', 'client.key'), TEST_KEY);
  await writeFile(join(dir, 'token'), 'from-file\n');
  const path = join(dir, 'config');
  await writeFile(path, kubeconfig({ 'client-certificate': 'pki/client.crt', 'client-key': join(dir, 'pki', 'client.key'), tokenFile: 'token' }, { server: 'https://h:6443', 'insecure-skip-tls-verify': true }));
  const c = kubeconfigConnection(path);
  assert.deepEqual(await c.credential(), { token: 'from-file', cert: TEST_CERT, key: TEST_KEY });
  assert.equal(c.insecureSkipTlsVerify, true);
  assert.equal(c.ca, null);
});

test('kubeconfig: auth providers, basic auth, a bad exec block, a missing context or server are ConfigErrors naming the field', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'config');
  await writeFile(path, kubeconfig({ 'auth-provider': { name: 'gcp', config: {} } }));
  assert.throws(() => kubeconfigConnection(path), (e: unknown) => e instanceof ConfigError && e.field.endsWith('users[u].user.auth-provider') && /\(gcp\) of user "u"/.test(e.message) && /exec credential plugin/.test(e.message) && /1\.26/.test(e.message));
  await writeFile(path, kubeconfig({ username: 'admin', password: 'x' }));
  assert.throws(() => kubeconfigConnection(path), (e: unknown) => e instanceof ConfigError && e.field.endsWith('users[u].user.username'));
  await writeFile(path, kubeconfig({ exec: { command: 'aws' } }));
  assert.throws(() => kubeconfigConnection(path), (e: unknown) => e instanceof ConfigError && e.field.endsWith('users[u].user.exec.apiVersion') && /client\.authentication\.k8s\.io\/v1/.test(e.message));
  await writeFile(path, kubeconfig({ exec: { apiVersion: 'client.authentication.k8s.io/v1alpha1', command: 'aws' } }));
  assert.throws(() => kubeconfigConnection(path), (e: unknown) => e instanceof ConfigError && /v1alpha1 was removed/.test(e.message));
  await writeFile(path, kubeconfig({ exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'aws', env: [{ name: 'A' }] } }));
  assert.throws(() => kubeconfigConnection(path), (e: unknown) => e instanceof ConfigError && e.field.endsWith('users[u].user.exec.env[0]'));
  await writeFile(path, kubeconfig({ exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'aws', interactiveMode: 'Sometimes' } }));
  assert.throws(() => kubeconfigConnection(path), (e: unknown) => e instanceof ConfigError && e.field.endsWith('exec.interactiveMode') && /Never, IfAvailable or Always/.test(e.message));
  await writeFile(path, kubeconfig({ exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'aws', interactiveMode: 'Always' } }));
  assert.throws(() => kubeconfigConnection(path), (e: unknown) => e instanceof ConfigError && e.field.endsWith('exec.interactiveMode') && /without a terminal/.test(e.message));
  await writeFile(path, kubeconfig({ token: 't', exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'aws' } }));
  assert.throws(() => kubeconfigConnection(path), (e: unknown) => e instanceof ConfigError && /both a token and an exec plugin/.test(e.message));
  await writeFile(path, kubeconfig({ token: 'x' }));
  assert.throws(() => kubeconfigConnection(path, { context: 'nope' }), (e: unknown) => e instanceof ConfigError && /no entry named "nope"/.test(e.message));
  await writeFile(path, kubeconfig({ token: 'x' }, {}));
  assert.throws(() => kubeconfigConnection(path), (e: unknown) => e instanceof ConfigError && e.field.endsWith('clusters[c].cluster.server'));
  assert.throws(() => kubeconfigConnection(join(dir, 'absent')), (e: unknown) => e instanceof ConfigError && /ENOENT/.test(e.message));
});

test('choose: KUBECONFIG, else ~/.kube/config, else in-cluster, as kubectl chooses', async (t) => {
  const dir = await tempDir(t);
  const sa = join(dir, 'sa');
  await mkdir(sa);
  await serviceAccount(sa);
  const home = join(dir, 'home');
  await mkdir(join(home, '.kube'), { recursive: true });
  const inPod = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };
  assert.equal(chooseClusterConnection({ env: inPod, home, serviceAccountDir: sa }).label, 'in-cluster');
  await writeFile(join(home, '.kube', 'config'), kubeconfig({ token: 'home' }));
  assert.equal((await chooseClusterConnection({ env: inPod, home, serviceAccountDir: sa }).credential()).token, 'home');
  const explicit = join(dir, 'explicit');
  await writeFile(explicit, kubeconfig({ token: 'explicit' }));
  assert.equal((await chooseClusterConnection({ env: { ...inPod, KUBECONFIG: `${join(dir, 'missing')}:${explicit}` }, home, serviceAccountDir: sa }).credential()).token, 'explicit');
  assert.throws(() => chooseClusterConnection({ env: { ...inPod, KUBECONFIG: join(dir, 'missing') }, home, serviceAccountDir: sa }), (e: unknown) => e instanceof ConfigError && e.field === 'KUBECONFIG');
});
