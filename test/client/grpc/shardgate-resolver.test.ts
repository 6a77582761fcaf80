/**
 * The `shardgate:` resolver: driven directly (what grpc-js's channel does with it) and through real
 * grpc-js channels, over every source form: a list, a file, Kubernetes EndpointSlices from the fake
 * API server, and SRV and A records from a real DNS server.
 */
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type { ServiceConfig } from '@grpc/grpc-js';
import { pino } from 'pino';
import { planeOf } from '../../../src/client/grpc/plane-attribute.js';
import { registerShardgate } from '../../../src/client/grpc/register-shardgate.js';
import { ShardgateResolver } from '../../../src/client/grpc/shardgate-resolver.js';
import type { DataPlane } from '../../../src/dataplane/data-plane.js';
import { startDnsmasq } from '../../helpers/dnsmasq.js';
import { FakeApiServer, slice, podEndpoint } from '../../helpers/fake-apiserver.js';
import { keyed, nextPlane, shardgateClient, unaryHost } from '../../helpers/grpc-client.js';
import type { GrpcPod } from '../../helpers/grpc-pods.js';
import { closeGrpcPods, grpcEndpointsFile, startGrpcPod, startGrpcPods } from '../../helpers/grpc-pods.js';
import { writeKubeconfig } from '../../helpers/kubeconfig.js';
import { until } from '../../helpers/until.js';

const silent = pino({ level: 'silent' });
registerShardgate({ logger: silent });

interface Report {
  readonly endpoints: grpc.experimental.StatusOr<grpc.experimental.Endpoint[]>;
  readonly plane: DataPlane | null;
  readonly serviceConfig: grpc.experimental.StatusOr<ServiceConfig> | null;
}

/** A resolver as a channel makes one, with every report it makes recorded. */
function resolver(t: { after(fn: () => void): void }, target: string, options: grpc.ChannelOptions = {}): { resolver: ShardgateResolver; reports: Report[] } {
  const reports: Report[] = [];
  const path = target.slice('shardgate:'.length);
  const r = new ShardgateResolver(
    { scheme: 'shardgate', path },
    (endpoints, attributes, serviceConfig) => {
      reports.push({ endpoints, plane: planeOf(attributes), serviceConfig });
      return true;
    },
    options,
    silent,
  );
  t.after(() => r.destroy());
  return { resolver: r, reports };
}

function addresses(report: Report): string[] {
  assert.ok(report.endpoints.ok, 'endpoints, not an error');
  return report.endpoints.value.map((e) => grpc.experimental.subchannelAddressToString(e.addresses[0]!));
}

test('the resolver reports on a later turn, never from inside updateResolution: the set, its plane, a default service config', async (t) => {
  const { resolver: r, reports } = resolver(t, 'shardgate:static/pod-1=127.0.0.1:2,pod-0=127.0.0.1:1');
  r.updateResolution();
  assert.equal(reports.length, 0);
  await until('the first report', () => reports.length === 1);
  const first = reports[0]!;
  assert.deepEqual(addresses(first), ['127.0.0.1:1', '127.0.0.1:2'], "in the set's order, by name");
  assert.deepEqual(first.plane?.current?.endpoints.map((e) => e.name), ['pod-0', 'pod-1']);
  assert.ok(first.serviceConfig?.ok);
  assert.deepEqual(first.serviceConfig.value.loadBalancingConfig, [{ shardgate: {} }], 'a channel without a service config balances with shardgate, keyless');
  assert.equal(first.plane.balancer.algorithm, 'p2c');

  r.updateResolution();
  assert.equal(reports.length, 1, 'a re-resolution is reported later too');
  await until('the second report', () => reports.length === 2);
  assert.equal(reports[1]!.plane, first.plane, 'the same plane');

  r.destroy();
  r.updateResolution();
  await until('a report after the source is opened again', () => reports.length === 3);
  assert.notEqual(reports[2]!.plane, first.plane, 'destroy closed the plane; a new one follows the source');
});

test("the resolver builds the plane from the channel's shardgate policy, and leaves the service config to the channel", async (t) => {
  const serviceConfig = (entries: object[]): grpc.ChannelOptions => ({ 'grpc.service_config': JSON.stringify({ loadBalancingConfig: entries }) });
  const keyedRing = resolver(t, 'shardgate:static/pod-0=127.0.0.1:1', serviceConfig([{ not_a_policy: {} }, { shardgate: { key: 'x-tenant', balancer: 'ring-hash' } }]));
  assert.equal(keyedRing.resolver.config.balancer.algorithm, 'ring-hash');
  assert.equal(keyedRing.resolver.config.key, 'grpc:x-tenant');
  keyedRing.resolver.updateResolution();
  await until('a report', () => keyedRing.reports.length === 1);
  assert.equal(keyedRing.reports[0]!.serviceConfig, null, "the channel's own service config applies");
  assert.equal(keyedRing.reports[0]!.plane?.keySource?.header, 'x-tenant');
  const roundRobin = resolver(t, 'shardgate:static/pod-0=127.0.0.1:1', serviceConfig([{ round_robin: {} }, { shardgate: { key: 'x-tenant', balancer: 'ring-hash' } }]));
  assert.equal(roundRobin.resolver.config.key, null, 'round_robin is chosen: the plane only follows the source');
});

test('a malformed target or policy config refuses the channel when it is made, naming the field', () => {
  assert.throws(() => shardgateClient('shardgate:k8s/shop', null), /target: is "shardgate:k8s\/shop": .*with no namespace/);
  assert.throws(() => shardgateClient('shardgate:static/pod-0=127.0.0.1:1', { key: 'x-tenant', balancer: 'ring-hsh' }), /shardgate.balancer \(balancer.algorithm\)/);
  assert.throws(() => shardgateClient('shardgate:static/pod-0=127.0.0.1:1', { key: 'x-tenant' }), /p2c does not route by key/);
});

test('a source that cannot be opened fails calls with UNAVAILABLE naming why, and is opened again once it can be', async (t) => {
  const pods = await startGrpcPods(1);
  t.after(() => closeGrpcPods(pods));
  const { path: file } = await grpcEndpointsFile(t, pods);
  await rm(file);
  const client = shardgateClient(`shardgate:file/${file}`, null, { 'grpc.initial_reconnect_backoff_ms': 100, 'grpc.max_reconnect_backoff_ms': 200 });
  t.after(() => client.close());
  const failure = await unaryHost(client, keyed(null)).then(
    () => assert.fail('the call succeeded'),
    (e: unknown) => e as grpc.ServiceError,
  );
  assert.equal(failure.code, grpc.status.UNAVAILABLE);
  assert.match(failure.details, new RegExp(`shardgate:file/${file}: .*${file}.*cannot be read`));
  await writeFile(file, `- { name: pod-0, address: "${pods[0]!.address}" }\n`);
  let served: string | null = null;
  await until('a call succeeds', () => {
    void unaryHost(client, keyed(null)).then((host) => (served = host), () => undefined);
    return served !== null;
  });
  assert.equal(served, 'pod-0');
});

/** Pods on 127.0.0.1, 127.0.0.2, ... all on the first one's port, as pods of a Service are. */
async function podsOnOnePort(count: number, names: (i: number) => string): Promise<GrpcPod[]> {
  const first = await startGrpcPod(names(0));
  const rest = await Promise.all(Array.from({ length: count - 1 }, (_, i) => startGrpcPod(names(i + 1), `127.0.0.${i + 2}`, first.port)));
  return [first, ...rest];
}

test("shardgate:k8s/ follows a Service's EndpointSlices: calls reach their owners, and a new pod", async (t) => {
  const pods = await podsOnOnePort(3, (i) => `sharded-svc-${i}`);
  t.after(() => closeGrpcPods(pods));
  const api = await FakeApiServer.start();
  t.after(() => api.close());
  const apply = (n: number): string => api.apply(slice('default', 'sharded-svc', 'sharded-svc-abc', pods.slice(0, n).map((p, i) => podEndpoint(p.name, `127.0.0.${i + 1}`)), { grpc: pods[0]!.port }));
  apply(2);
  process.env.KUBECONFIG = await writeKubeconfig(t, api);
  const planeOpened = nextPlane();
  const client = shardgateClient('shardgate:k8s/default/sharded-svc:grpc', { key: 'x-tenant', balancer: 'rendezvous' });
  t.after(() => client.close());
  const keys = Array.from({ length: 60 }, (_, i) => `tenant-${i}`);
  const before = await Promise.all(keys.map((k) => unaryHost(client, keyed(k))));
  const plane = await planeOpened;
  assert.deepEqual(new Set(before), new Set(['sharded-svc-0', 'sharded-svc-1']));
  assert.deepEqual(before, keys.map((k) => ownerOf(plane, k)));
  apply(3);
  await until('the third pod is in the set', () => plane.current?.endpoints.length === 3);
  const after = await Promise.all(keys.map((k) => unaryHost(client, keyed(k))));
  assert.deepEqual(after, keys.map((k) => ownerOf(plane, k)));
  assert.ok(after.includes('sharded-svc-2'), 'the new pod took keys');
  assert.ok(after.every((pod, i) => pod === before[i] || pod === 'sharded-svc-2'), 'keys moved only to the new pod');
});

for (const kind of ['srv', 'dns'] as const) {
  test(`shardgate://SERVER/${kind}/ finds the pods through that DNS server`, async (t) => {
    const svc = 'sharded-svc.default.svc.cluster.local';
    const pods = await podsOnOnePort(2, (i) => `sharded-svc-${i}`);
    t.after(() => closeGrpcPods(pods));
    const port = pods[0]!.port;
    const dns = await startDnsmasq(t, {
      hosts: { [svc]: ['127.0.0.1', '127.0.0.2'], [`sharded-svc-0.${svc}`]: ['127.0.0.1'], [`sharded-svc-1.${svc}`]: ['127.0.0.2'] },
      srv: { [`_grpc._tcp.${svc}`]: [{ target: `sharded-svc-0.${svc}`, port }, { target: `sharded-svc-1.${svc}`, port }] },
    });
    const target = kind === 'srv' ? `shardgate://${dns.server}/srv/_grpc._tcp.${svc}` : `shardgate://${dns.server}/dns/${svc}:${port}`;
    const planeOpened = nextPlane();
    const client = shardgateClient(target, { key: 'x-tenant', balancer: 'ring-hash' });
    t.after(() => client.close());
    const keys = Array.from({ length: 40 }, (_, i) => `tenant-${i}`);
    const served = await Promise.all(keys.map((k) => unaryHost(client, keyed(k))));
    const plane = await planeOpened;
    const names = kind === 'srv' ? ['sharded-svc-0', 'sharded-svc-1'] : [`127.0.0.1:${port}`, `127.0.0.2:${port}`];
    assert.deepEqual(plane.current?.endpoints.map((e) => e.name), names, kind === 'srv' ? 'named by pod' : 'named by address, as A records carry no names');
    const byName = new Map(names.map((n, i) => [n, pods[i]!.name]));
    assert.deepEqual(served, keys.map((k) => byName.get(ownerOf(plane, k))));
    assert.equal(new Set(served).size, 2);
  });
}

/** The endpoint the plane's balancer names for `key` (the pick ended at once). */
function ownerOf(plane: DataPlane, key: string): string {
  const p = plane.balancer.pick(plane.key(key), null);
  assert.equal(p.kind, 'ok');
  if (p.kind !== 'ok') return '';
  p.done(0, 'cancelled');
  return p.endpoint.name;
}
