/**
 * Holds the fake API server honest: kubectl, a real Kubernetes client, lists and watches
 * EndpointSlices through it (over TLS with a bearer token) and must see the same slices and events
 * the store holds. Skipped where kubectl is not installed.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { test } from 'node:test';
import { FakeApiServer, podEndpoint, slice } from '../../helpers/fake-apiserver.js';
import { writeKubeconfig } from '../../helpers/kubeconfig.js';

function kubectlPath(): string | null {
  try {
    return execFileSync('which', ['kubectl'], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

const kubectl = kubectlPath();

interface WatchEventOut {
  readonly type: string;
  readonly object: { metadata: { name: string; resourceVersion: string }; endpoints?: { addresses: string[] }[] };
}

test('fake apiserver: kubectl lists the slices over TLS with the token', { skip: kubectl === null ? 'kubectl not installed' : false }, async (t) => {
  const api = await FakeApiServer.start({ tls: true });
  t.after(() => api.close());
  api.apply(slice('default', 'web', 'web-abc', [podEndpoint('web-0', '10.0.0.1'), podEndpoint('web-1', '10.0.0.2')]));
  api.apply(slice('default', 'other', 'other-abc', [podEndpoint('other-0', '10.0.1.1')]));
  const config = await writeKubeconfig(t, api);
  const out = await run(kubectl!, ['--kubeconfig', config, 'get', 'endpointslices', '-n', 'default', '-l', 'kubernetes.io/service-name=web', '-o', 'json']);
  const list = JSON.parse(out) as { items: { metadata: { name: string }; endpoints: { addresses: string[]; targetRef: { name: string } }[] }[] };
  assert.deepEqual(list.items.map((s) => s.metadata.name), ['web-abc']);
  assert.deepEqual(list.items[0]!.endpoints.map((e) => [e.targetRef.name, e.addresses[0]]), [['web-0', '10.0.0.1'], ['web-1', '10.0.0.2']]);
});

test('fake apiserver: kubectl is refused with a wrong token', { skip: kubectl === null ? 'kubectl not installed' : false }, async (t) => {
  const api = await FakeApiServer.start({ tls: true });
  t.after(() => api.close());
  const config = await writeKubeconfig(t, api, { token: 'wrong' });
  await assert.rejects(run(kubectl!, ['--kubeconfig', config, 'get', 'endpointslices', '-n', 'default', '-o', 'json']), /Unauthorized|401|must be logged in/);
});

test('fake apiserver: kubectl get -w sees the list, then ADDED, MODIFIED and DELETED from the watch', { skip: kubectl === null ? 'kubectl not installed' : false }, async (t) => {
  const api = await FakeApiServer.start({ tls: true });
  t.after(() => api.close());
  api.apply(slice('default', 'web', 'web-a', [podEndpoint('web-0', '10.0.0.1')]));
  const config = await writeKubeconfig(t, api);
  const child = spawn(kubectl!, ['--kubeconfig', config, 'get', 'endpointslices', '-n', 'default', '-l', 'kubernetes.io/service-name=web', '-w', '--output-watch-events', '-o', 'json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => child.kill());
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const events: WatchEventOut[] = [];
  let buffer = '';
  let wake: () => void = () => undefined;
  child.stdout.on('data', (d: Buffer) => {
    buffer += d.toString();
    // kubectl prints each watch event as one line of JSON.
    let end: number;
    while ((end = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, end).trim();
      buffer = buffer.slice(end + 1);
      if (line.length > 0) events.push(JSON.parse(line) as WatchEventOut);
    }
    wake();
  });
  const until = async (n: number): Promise<void> => {
    const deadline = Date.now() + 10_000;
    while (events.length < n) {
      if (Date.now() > deadline) assert.fail(`kubectl printed ${events.length} events, wanted ${n}; stderr: ${stderr}`);
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 200);
      });
    }
  };
  await until(1);
  await api.watchesStarted(1);
  const listRv = api.resourceVersion;
  api.apply(slice('default', 'web', 'web-b', [podEndpoint('web-1', '10.0.0.2')]));
  api.apply(slice('default', 'web', 'web-a', [podEndpoint('web-0', '10.0.0.9')]));
  api.apply(slice('default', 'other', 'other-a', [podEndpoint('other-0', '10.0.1.1')]));
  api.delete('default', 'web-b');
  await until(4);
  assert.deepEqual(events.map((e) => [e.type, e.object.metadata.name]), [['ADDED', 'web-a'], ['ADDED', 'web-b'], ['MODIFIED', 'web-a'], ['DELETED', 'web-b']]);
  assert.equal(events[2]!.object.endpoints![0]!.addresses[0], '10.0.0.9');
  const watch = api.requests.find((r) => r.query.get('watch') === 'true');
  assert.equal(watch?.query.get('resourceVersion'), listRv, 'kubectl watches from the list resourceVersion the fake reported');
  assert.ok(Number(events[3]!.object.metadata.resourceVersion) > Number(events[2]!.object.metadata.resourceVersion));
});

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err}`))));
  });
}
