/**
 * A managed service follows its endpoint source: a watched file (an owner removed: its keys move
 * to their next owner, its request in flight finishes, its connections close afterwards), DNS
 * SRV records from a real DNS server (a pod back at a new port is found right after the first
 * refused connect, long before the records' TTL) and Kubernetes EndpointSlices from a fake API
 * server (a pod leaves and returns). HTTPS pods are asked by the service's name.
 * HTTP/2 endpoints are refused by name, and a source that sends no set in time fails the start.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { request } from 'undici';
import type { Dispatcher } from 'undici';
import type { EndpointSpec } from '../../src/balancer/endpoint.js';
import { createShardDispatcher } from '../../src/client/create-shard-dispatcher.js';
import { ConfigError, ShardgateError } from '../../src/errors.js';
import { closeBackends, closedPort, closeGracefully, endpointSpecs, nameHandler, startBackend, startBackends } from '../helpers/backends.js';
import { startDnsmasq } from '../helpers/dnsmasq.js';
import { FakeApiServer, podEndpoint, slice } from '../helpers/fake-apiserver.js';
import { writeKubeconfig } from '../helpers/kubeconfig.js';
import { assertNothingInFlight, endpointNamed, openDispatcher, ownerOf, SERVICE, SERVICE_URL, silent } from '../helpers/shard-client.js';
import { TEST_CA, TEST_CERT, TEST_KEY } from '../helpers/tls-fixture.js';
import { until } from '../helpers/until.js';

const KEYS = Array.from({ length: 100 }, (_, i) => `tenant-${i}`);

async function get(d: Dispatcher, key: string, path = '/'): Promise<string> {
  const r = await request(`${SERVICE_URL}${path}`, { dispatcher: d, headers: { 'x-tenant': key } });
  return r.body.text();
}

test('endpoints file: an owner removed, its keys move to their next owner; its request in flight finishes and its connections close after it', async (t) => {
  let release: () => void = () => undefined;
  const held = new Promise<void>((r) => (release = r));
  const backends = await startBackends(4, 'pod', (req, res, b) => {
    if (req.url === '/hold') void held.then(() => res.end(b.name));
    else nameHandler(req, res, b);
  });
  t.after(() => closeBackends(backends));
  const dir = await mkdtemp(join(tmpdir(), 'shardgate-client-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'endpoints.json');
  const write = (specs: EndpointSpec[]): Promise<void> => writeFile(file, JSON.stringify(specs));
  await write(endpointSpecs(backends));
  const d = await openDispatcher(t, { [SERVICE]: { endpointsFile: file, balancer: { algorithm: 'ring-hash' }, key: 'header:x-tenant' } });
  const plane = d.plane(SERVICE)!;
  const before = new Map(KEYS.map((k) => [k, ownerOf(d, SERVICE, k)]));
  const gone = 'pod-2';
  const nextOwner = new Map(KEYS.map((k) => [k, ownerOf(d, SERVICE, k, new Set([endpointNamed(d, SERVICE, gone)]))]));
  const heldKey = KEYS.find((k) => before.get(k) === gone)!;
  const holding = request(`${SERVICE_URL}/hold`, { dispatcher: d, headers: { 'x-tenant': heldKey } });
  const goneBackend = backends.find((b) => b.name === gone)!;
  await until('the held request reached its owner', () => goneBackend.requests === 1);

  const version = plane.current!.version;
  await write(endpointSpecs(backends.filter((b) => b.name !== gone)));
  await until('the new set is applied', () => plane.current!.version > version);
  for (const key of KEYS) {
    const owner = await get(d, key);
    assert.equal(owner, before.get(key) === gone ? nextOwner.get(key) : before.get(key), key);
  }
  assert.equal(goneBackend.requests, 1, 'nothing new went to the removed pod');
  const connections = (): Promise<number> => new Promise((resolve, reject) => goneBackend.server.getConnections((e, n) => (e ? reject(e) : resolve(n))));
  assert.equal(await connections(), 1, 'the removed pod\'s connection is kept for its request in flight');
  release();
  assert.equal(await (await holding).body.text(), gone, 'the request in flight finished at the removed pod');
  const deadline = Date.now() + 5_000;
  while ((await connections()) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(await connections(), 0, 'the drained pool closed its connection');
  assertNothingInFlight(d, SERVICE);
});

test('DNS SRV discovery: keys reach their owners; a pod back at a new port is found right after a refused connect, long before the TTL', async (t) => {
  const svc = 'sharded-svc.client.svc.cluster.local';
  const srv = `_http._tcp.${svc}`;
  const backends = await startBackends(3, 'sharded-svc');
  t.after(() => closeBackends(backends));
  const records = (pods: readonly { name: string; port: number }[]): Parameters<typeof dns.setRecords>[0] => ({
    hosts: Object.fromEntries(pods.map((p) => [`${p.name}.${svc}`, ['127.0.0.1']])),
    srv: { [srv]: pods.map((p) => ({ target: `${p.name}.${svc}`, port: p.port })) },
  });
  // Answers live 300 s: only a re-resolution after the failed connect can find the move in time.
  const dns = await startDnsmasq(t, records(backends), { ttlSeconds: 300 });
  const d = await openDispatcher(t, { [SERVICE]: { discovery: `srv:${srv}`, dnsServer: dns.server, balancer: { algorithm: 'ring-hash' }, key: 'header:x-tenant' } });
  const plane = d.plane(SERVICE)!;
  assert.deepEqual(plane.current!.endpoints.map((e) => e.name).sort(), backends.map((b) => b.name).sort());
  for (const key of KEYS.slice(0, 30)) assert.equal(await get(d, key), ownerOf(d, SERVICE, key), key);

  const moving = backends[1]!;
  const key = KEYS.find((k) => ownerOf(d, SERVICE, k) === moving.name)!;
  await closeGracefully(moving);
  const moved = await startBackend(moving.name);
  t.after(() => moved.close());
  await dns.setRecords(records([backends[0]!, moved, backends[2]!]));
  // The old port refuses: the request is served by the key's next owner, and the refusal sets off
  // a re-resolution that finds the new port.
  assert.notEqual(await get(d, key), moving.name);
  await until('the pod at its new port is in the set', () => plane.current!.endpoints.some((e) => e.address === moved.address), 5_000);
  assert.equal(await get(d, key), moving.name, 'the key is back at its owner, at its new port');
  assert.equal(moved.requests, 1);
});

test('an HTTP/2 endpoint is refused by name: the dispatcher speaks HTTP/1.1 to pods', async () => {
  await assert.rejects(
    createShardDispatcher({ logger: silent, services: { [SERVICE]: { endpoints: [{ name: 'pod-0', address: 'h2c://127.0.0.1:9000' }], balancer: { algorithm: 'ring-hash' }, key: 'header:x-tenant' } } }),
    (e: unknown) => e instanceof ConfigError && e.field === 'endpoints[0].address (pod-0)' && e.message.startsWith(`services["${SERVICE}"]: `) && e.message.includes('HTTP/1.1'),
  );
});

test('a source that sends no set in time fails the start, naming the service and the source', async () => {
  const dnsServer = `127.0.0.1:${await closedPort()}`;
  const started = Date.now();
  await assert.rejects(
    createShardDispatcher({ logger: silent, firstSetTimeoutMs: 300, services: { [SERVICE]: { discovery: 'dns:pods.invalid:8080', dnsServer, balancer: { algorithm: 'ring-hash' }, key: 'header:x-tenant' } } }),
    (e: unknown) => e instanceof ShardgateError && e.code === 'SG_ERR_DISCOVERY' && e.message.includes(SERVICE) && e.message.includes('pods.invalid') && e.message.includes('300 ms'),
  );
  assert.ok(Date.now() - started < 3_000);
});

test('https endpoints: the TLS server name is the service\'s, whose name the pod\'s certificate must carry', async (t) => {
  const server = https.createServer({ cert: TEST_CERT, key: TEST_KEY }, (req, res) => res.end(`tls ${req.headers.host}`));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const port = (server.address() as AddressInfo).port;
  const dir = await mkdtemp(join(tmpdir(), 'shardgate-client-tls-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const ca = join(dir, 'ca.pem');
  await writeFile(ca, TEST_CA);
  const pods = [{ name: 'pod-0', address: `https://127.0.0.1:${port}` }];
  const options = { endpoints: pods, balancer: { algorithm: 'ring-hash' }, key: 'header:x-tenant', proxy: { upstreamTls: { ca }, outlier: false } } as const;
  // The certificate names localhost: a service addressed as localhost is accepted...
  const d = await openDispatcher(t, { 'https://localhost:8443': options, 'https://sharded-svc.test': options });
  const r = await request('https://localhost:8443/', { dispatcher: d, headers: { 'x-tenant': 'a' } });
  assert.equal(await r.body.text(), 'tls localhost:8443');
  // ...one addressed by another name is refused by the certificate check, not sent.
  await assert.rejects(request('https://sharded-svc.test/', { dispatcher: d, headers: { 'x-tenant': 'a' } }), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
});

test('Kubernetes EndpointSlices: keys reach their owners; a pod whose slice goes loses its keys to their next owners, and gets them back when it returns', async (t) => {
  const backends = await startBackends(3, 'sharded-svc');
  t.after(() => closeBackends(backends));
  const api = await FakeApiServer.start();
  t.after(() => api.close());
  // Rendezvous moves only the leaving pod's keys, each to the pod it would pick without it.
  // Each pod in a slice of its own: on loopback they differ by port, which a slice holds once.
  const publish = (b: (typeof backends)[number]): string => api.apply(slice('default', 'sharded-svc', b.name, [podEndpoint(b.name, '127.0.0.1')], { http: b.port }));
  for (const b of backends) publish(b);
  const before = process.env.KUBECONFIG;
  process.env.KUBECONFIG = await writeKubeconfig(t, api);
  t.after(() => (before === undefined ? delete process.env.KUBECONFIG : (process.env.KUBECONFIG = before)));
  const d = await openDispatcher(t, { [SERVICE]: { discovery: 'k8s:default/sharded-svc:http', balancer: { algorithm: 'rendezvous' }, key: 'header:x-tenant' } });
  const plane = d.plane(SERVICE)!;
  assert.deepEqual(plane.current!.endpoints.map((e) => e.name).sort(), backends.map((b) => b.name).sort());
  const owners = new Map(KEYS.map((k) => [k, ownerOf(d, SERVICE, k)]));
  for (const key of KEYS.slice(0, 30)) assert.equal(await get(d, key), owners.get(key), key);
  const leaving = backends[1]!;
  const next = new Map(KEYS.map((k) => [k, ownerOf(d, SERVICE, k, new Set([endpointNamed(d, SERVICE, leaving.name)]))]));
  api.delete('default', leaving.name);
  await until('the pod left the set', () => !plane.current!.endpoints.some((e) => e.name === leaving.name));
  for (const key of KEYS.slice(0, 30)) assert.equal(await get(d, key), owners.get(key) === leaving.name ? next.get(key) : owners.get(key), `${key} with the pod gone`);
  publish(leaving);
  await until('the pod is back', () => plane.current!.endpoints.some((e) => e.name === leaving.name));
  for (const key of KEYS.slice(0, 30)) assert.equal(await get(d, key), owners.get(key), `${key} is back at its owner`);
});
