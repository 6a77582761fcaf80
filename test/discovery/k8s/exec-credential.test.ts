import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ManualClock } from '../../../src/balancer/clock.js';
import { ApiStatusError } from '../../../src/discovery/k8s/api-status-error.js';
import { kubeconfigConnection } from '../../../src/discovery/k8s/cluster-connection.js';
import { EXEC_EXPIRY_MARGIN_MS, ExecCredentialError, ExecCredentialPlugin, parseExecConfig } from '../../../src/discovery/k8s/exec-credential.js';
import type { ExecPluginOptions } from '../../../src/discovery/k8s/exec-credential.js';
import { readNodeZone } from '../../../src/discovery/k8s/node-zone.js';
import { FakeApiServer } from '../../helpers/fake-apiserver.js';
import { ExecPlugin } from '../../helpers/exec-plugin.js';
import { writeKubeconfig } from '../../helpers/kubeconfig.js';
import { TEST_CERT, TEST_KEY } from '../../helpers/tls-fixture.js';

const CLUSTER = { server: 'https://127.0.0.1:6443', ca: TEST_CERT, tlsServerName: null, insecureSkipTlsVerify: false };
const START_MS = Date.parse('2026-03-01T12:00:00Z');

function plugin(p: ExecPlugin, exec: Record<string, unknown> = {}, options: ExecPluginOptions = {}): ExecCredentialPlugin {
  return new ExecCredentialPlugin(parseExecConfig(p.user(exec)['exec'], 'config: users[dev].user.exec', tmpdir()), 'dev', CLUSTER, options);
}

test('exec credential: runs the plugin with its args and env and KUBERNETES_EXEC_INFO (not interactive), and keeps a token without expiry', async (t) => {
  const p = await ExecPlugin.create(t, 'token-1');
  const exec = plugin(p);
  assert.deepEqual(await exec.credential(), { token: 'token-1', cert: null, key: null });
  await p.set('token', 'token-2');
  assert.equal((await exec.credential()).token, 'token-1', 'kept: no expirationTimestamp means valid until refused');
  assert.equal(exec.runs, 1);
  const [run] = p.runs();
  assert.deepEqual(run!.info, { apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', spec: { interactive: false } });
  assert.equal(run!.greeting, 'hello from the kubeconfig');
  // Concurrent requests share one run.
  exec.rejected({ token: 'token-1', cert: null, key: null });
  const both = await Promise.all([exec.credential(), exec.credential()]);
  assert.deepEqual(both.map((c) => c.token), ['token-2', 'token-2']);
  assert.equal(exec.runs, 2);
});

test('exec credential: v1beta1, and the cluster in spec.cluster when provideClusterInfo is set', async (t) => {
  const p = await ExecPlugin.create(t, 'beta-token');
  const exec = plugin(p, { apiVersion: 'client.authentication.k8s.io/v1beta1', provideClusterInfo: true });
  assert.equal((await exec.credential()).token, 'beta-token');
  assert.deepEqual(p.runs()[0]!.info, {
    apiVersion: 'client.authentication.k8s.io/v1beta1',
    kind: 'ExecCredential',
    spec: { interactive: false, cluster: { server: CLUSTER.server, 'certificate-authority-data': Buffer.from(TEST_CERT).toString('base64'), 'insecure-skip-tls-verify': false } },
  });
});

test('exec credential: kept until its expirationTimestamp less the margin, then the plugin runs again', async (t) => {
  const p = await ExecPlugin.create(t, 'short-lived');
  const clock = new ManualClock(START_MS);
  await p.set('expires', new Date(START_MS + 60_000).toISOString());
  const exec = plugin(p, {}, { clock });
  await exec.credential();
  clock.advance(60_000 - EXEC_EXPIRY_MARGIN_MS - 1);
  await exec.credential();
  assert.equal(exec.runs, 1, 'still fresh just before the margin');
  clock.advance(1);
  await p.set('token', 'renewed');
  assert.equal((await exec.credential()).token, 'renewed');
  assert.equal(exec.runs, 2);
});

test('exec credential: a client certificate and key from the plugin', async (t) => {
  const p = await ExecPlugin.create(t, null);
  await p.set('cert', TEST_CERT);
  await p.set('key', TEST_KEY);
  assert.deepEqual(await plugin(p).credential(), { token: null, cert: TEST_CERT, key: TEST_KEY });
});

test('exec credential: a failing plugin: the error names the user and quotes stderr, and is not kept', async (t) => {
  const p = await ExecPlugin.create(t, null);
  const exec = plugin(p);
  await assert.rejects(exec.credential(), (e: unknown) => {
    assert.ok(e instanceof ExecCredentialError, String(e));
    assert.equal(e.user, 'dev');
    assert.equal(e.failure, 'exit');
    assert.match(e.message, /user "dev"/);
    assert.match(e.message, /exited with code 1/);
    assert.match(e.message, /no cached login for this cluster: run `fake-login` first/);
    return true;
  });
  await p.set('token', 'logged-in');
  assert.equal((await exec.credential()).token, 'logged-in', 'a failure is not cached');
});

test('exec credential: a missing command shows the installHint; a hanging plugin is stopped at the timeout', async (t) => {
  const p = await ExecPlugin.create(t, 'x');
  const missing = plugin(p, { command: 'shardgate-no-such-credential-plugin', args: [], installHint: 'brew install fake-login' });
  await assert.rejects(missing.credential(), (e: unknown) => e instanceof ExecCredentialError && e.failure === 'not-found' && /user "dev"/.test(e.message) && /brew install fake-login/.test(e.message));
  await p.set('hang', '');
  const hanging = plugin(p, {}, { timeoutMs: 300 });
  await assert.rejects(hanging.credential(), (e: unknown) => e instanceof ExecCredentialError && e.failure === 'timeout' && /within 300 ms/.test(e.message));
});

test('exec credential: output that is not an ExecCredential of the asked apiVersion, or has no credential, is refused', async (t) => {
  const p = await ExecPlugin.create(t, null);
  const run = (script: string): Promise<unknown> => plugin(p, { args: ['-e', script] }).credential();
  const output = (e: unknown): boolean => e instanceof ExecCredentialError && e.failure === 'output' && /user "dev"/.test(e.message);
  await assert.rejects(run('console.log("hello")'), (e: unknown) => output(e) && /not JSON/.test((e as Error).message));
  await assert.rejects(run('console.log(JSON.stringify({apiVersion: "client.authentication.k8s.io/v1beta1", kind: "ExecCredential", status: {token: "t"}}))'), (e: unknown) => output(e) && /kubeconfig asks for client\.authentication\.k8s\.io\/v1/.test((e as Error).message));
  await assert.rejects(run('console.log(JSON.stringify({apiVersion: "client.authentication.k8s.io/v1", kind: "ExecCredential", status: {}}))'), (e: unknown) => output(e) && /neither status\.token/.test((e as Error).message));
  await assert.rejects(run('console.log(JSON.stringify({apiVersion: "client.authentication.k8s.io/v1", kind: "ExecCredential", status: {token: "t", expirationTimestamp: "soon"}}))'), (e: unknown) => output(e) && /RFC 3339/.test((e as Error).message));
});

test('exec credential: a relative command with a separator is resolved against the kubeconfig\'s directory; a bare name is left to PATH', () => {
  const config = (command: string): string => parseExecConfig({ apiVersion: 'client.authentication.k8s.io/v1', command }, 'w', '/etc/kube').command;
  assert.equal(config('bin/login'), join('/etc/kube', 'bin/login'));
  assert.equal(config('aws'), 'aws');
  assert.equal(config('/usr/bin/aws'), '/usr/bin/aws');
});

test('exec credential: through a kubeconfig, requests carry the plugin\'s token; a 401 runs the plugin again and the request is retried once', async (t) => {
  const api = await FakeApiServer.start({ tls: true, token: 'first' });
  t.after(() => api.close());
  api.setNode('node-a', { 'topology.kubernetes.io/zone': 'zone-a' });
  const p = await ExecPlugin.create(t, 'first');
  const connection = kubeconfigConnection(await writeKubeconfig(t, api, p.user()));
  assert.equal(await readNodeZone(connection, 'node-a'), 'zone-a');
  assert.equal(await readNodeZone(connection, 'node-a'), 'zone-a');
  assert.equal(p.runs().length, 1, 'the token is kept between requests');
  // Rotated on the server; the plugin has the new one, but the kept token goes first.
  api.token = 'second';
  await p.set('token', 'second');
  const before = api.requests.length;
  assert.equal(await readNodeZone(connection, 'node-a'), 'zone-a');
  assert.equal(p.runs().length, 2);
  assert.equal(api.requests.length - before, 2, 'one refused request, one retried');
  // A plugin whose fresh token is refused too: the 401 comes through after one retry.
  api.token = 'third';
  await assert.rejects(readNodeZone(connection, 'node-a'), (e: unknown) => e instanceof ApiStatusError && e.status === 401);
  assert.equal(p.runs().length, 3);
});

test('exec credential: a client certificate from the plugin authenticates the TLS connection (x509 client auth)', async (t) => {
  const api = await FakeApiServer.start({ tls: true, token: 'not-given', clientCertificates: true });
  t.after(() => api.close());
  api.setNode('node-a', { 'topology.kubernetes.io/zone': 'zone-a' });
  const p = await ExecPlugin.create(t, null);
  const connection = kubeconfigConnection(await writeKubeconfig(t, api, p.user()));
  await assert.rejects(readNodeZone(connection, 'node-a'), /no cached login/, 'no certificate yet: the plugin fails');
  await p.set('cert', TEST_CERT);
  await p.set('key', TEST_KEY);
  assert.equal(await readNodeZone(connection, 'node-a'), 'zone-a');
});
