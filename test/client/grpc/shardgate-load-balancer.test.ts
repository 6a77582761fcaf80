/**
 * The shardgate policy end to end: real @grpc/grpc-js clients through `shardgate:` targets to real
 * grpc-js pods on 127.0.0.1, each answering with its name. The owner a call should reach is the
 * one a DataPlane built from the proxy's own config document names (as `shardgate serve` would).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import type { EndpointSpec } from '../../../src/balancer/endpoint.js';
import { createEndpointSet } from '../../../src/balancer/endpoint.js';
import { registerShardgate } from '../../../src/client/grpc/register-shardgate.js';
import { parseConfig } from '../../../src/config/config.js';
import { createDataPlane } from '../../../src/dataplane/create-data-plane.js';
import type { DataPlane } from '../../../src/dataplane/data-plane.js';
import type { GrpcPod, SimpleResponse, StreamingOutputCallRequest } from '../../helpers/grpc-pods.js';
import { closeGrpcPods, grpcEndpointsFile, startGrpcPods, testClient } from '../../helpers/grpc-pods.js';
import type { TestClient } from '../../helpers/grpc-client.js';
import { clientStreamHost, duplexHosts, keyed, nextPlane, recordCallEnds, serverStreamHosts, shardgateClient, staticTarget, unaryHost } from '../../helpers/grpc-client.js';
import { startGrpcPodProcess } from '../../helpers/grpc-pod-process.js';
import { until } from '../../helpers/until.js';
import { Served } from '../../cli/run.js';

registerShardgate({ logger: pino({ level: 'silent' }) });

const KEYS = Array.from({ length: 200 }, (_, i) => `tenant-${i}`);
const RING_POLICY = { key: 'x-tenant', balancer: 'ring-hash' };
/** RING_POLICY as the proxy's config document writes it. */
const RING_DOC = { balancer: { algorithm: 'ring-hash' }, key: 'grpc:x-tenant' };
const OK: number = grpc.status.OK;

/** A client of `target` under `policy`, closed after the test, and its plane once its source opens. */
function openChannel(t: TestContext, target: string, policy: Record<string, unknown> | null = RING_POLICY): { client: TestClient; plane: Promise<DataPlane> } {
  const plane = nextPlane();
  const client = shardgateClient(target, policy);
  t.after(() => client.close());
  return { client, plane };
}

/** Key to the pod that answered a unary call for it, all calls at once. */
async function servedBy(client: TestClient, keys: readonly string[]): Promise<Map<string, string>> {
  return new Map(await Promise.all(keys.map(async (k) => [k, await unaryHost(client, keyed(k))] as const)));
}

/**
 * Key to owner, as a DataPlane from the config document `shardgate serve` would read names it;
 * with `excluded`, the owner once that endpoint is excluded (the proxy's retry after a failed connect).
 */
function ownersOf(doc: Record<string, unknown>, specs: readonly EndpointSpec[], keys: readonly string[], excluded: string | null = null): Map<string, string> {
  const plane = createDataPlane(parseConfig({ ...doc, endpoints: specs }), { logger: pino({ level: 'silent' }) });
  plane.apply(createEndpointSet(specs, 1));
  const exclude = excluded === null ? null : { has: (e: { name: string }) => e.name === excluded };
  const owners = new Map<string, string>();
  for (const key of keys) {
    const p = plane.balancer.pick(plane.key(key), exclude);
    assert.equal(p.kind, 'ok', `key ${key} has an owner`);
    if (p.kind !== 'ok') continue;
    p.done(0, 'cancelled');
    owners.set(key, p.endpoint.name);
  }
  void plane.close();
  return owners;
}

/** Sends keyless calls until every pod has served one: every subchannel is READY. */
async function connectAll(client: ReturnType<typeof shardgateClient>, pods: readonly GrpcPod[]): Promise<void> {
  const seen = new Set<string>();
  for (let round = 0; seen.size < pods.length; round++) {
    assert.ok(round < 100, `only ${[...seen].join(', ')} answered`);
    for (const host of await Promise.all(Array.from({ length: 8 }, () => unaryHost(client, keyed(null))))) seen.add(host);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function specsOf(pods: readonly { readonly name: string; readonly port: number }[]): EndpointSpec[] {
  return pods.map((p) => ({ name: p.name, address: `127.0.0.1:${p.port}` }));
}

test('keyed unary calls reach the owner the proxy names for their key, on one channel', async (t) => {
  const pods = await startGrpcPods(4);
  t.after(() => closeGrpcPods(pods));
  const { client, plane: planeOpened } = openChannel(t, staticTarget(pods));
  const served = await servedBy(client, KEYS);
  assert.deepEqual(served, ownersOf(RING_DOC, specsOf(pods), KEYS));
  assert.equal(new Set(served.values()).size, 4, 'the keys spread over all four pods');
  const plane = await planeOpened;
  await until('nothing in flight', () => plane.board.totalInflight === 0);
});

test('keyed streaming calls, all three kinds, reach their owner, every message from it', async (t) => {
  const pods = await startGrpcPods(4);
  t.after(() => closeGrpcPods(pods));
  const { client } = openChannel(t, staticTarget(pods), { key: 'x-tenant', balancer: 'maglev' });
  const keys = KEYS.slice(0, 40);
  const expected = ownersOf({ balancer: { algorithm: 'maglev' }, key: 'grpc:x-tenant' }, specsOf(pods), keys);
  for (const key of keys) {
    const owner = expected.get(key)!;
    assert.deepEqual(await serverStreamHosts(client, keyed(key), 3), [owner, owner, owner], `server streaming, ${key}`);
    assert.equal(await clientStreamHost(client, keyed(key), 3), owner, `client streaming, ${key}`);
    assert.deepEqual(await duplexHosts(client, keyed(key), 2), [owner, owner], `bidi streaming, ${key}`);
  }
});

test('keyless calls spread over every pod; without a service config a shardgate: target spreads too', async (t) => {
  const pods = await startGrpcPods(4);
  t.after(() => closeGrpcPods(pods));
  for (const policy of [RING_POLICY, null]) {
    const client = shardgateClient(staticTarget(pods), policy);
    // Until every connection is up, keyless calls go to those that are, as round_robin's do.
    await connectAll(client, pods);
    const served = await Promise.all(Array.from({ length: 400 }, () => unaryHost(client, keyed(null))));
    client.close();
    const counts = pods.map((p) => served.filter((s) => s === p.name).length);
    for (const [i, n] of counts.entries()) assert.ok(n >= 60, `${pods[i]!.name} served ${n} of 400 keyless calls (${JSON.stringify(counts)}), policy ${JSON.stringify(policy)}`);
  }
});

test('an endpoint leaving moves only its keys, and its calls in flight finish on it', async (t) => {
  const pods = await startGrpcPods(4);
  t.after(() => closeGrpcPods(pods));
  const file = await grpcEndpointsFile(t, pods);
  const { client, plane: planeOpened } = openChannel(t, `shardgate:file/${file.path}`);
  const before = await servedBy(client, KEYS);
  assert.deepEqual(before, ownersOf(RING_DOC, specsOf(pods), KEYS));
  const plane = await planeOpened;

  const leaving = pods[2]!;
  const slowKey = KEYS.find((k) => before.get(k) === leaving.name)!;
  const stream = serverStreamHosts(client, keyed(slowKey), 5, 100_000);
  await until('the stream has started', () => leaving.calls > KEYS.filter((k) => before.get(k) === leaving.name).length);
  const rest = pods.filter((p) => p !== leaving);
  await file.write(rest);
  await until('the set without pod-2 is applied', () => plane.current?.endpoints.length === 3);

  const after = await servedBy(client, KEYS);
  assert.deepEqual(after, ownersOf(RING_DOC, specsOf(rest), KEYS));
  const moved = KEYS.filter((k) => before.get(k) !== after.get(k));
  assert.ok(moved.length > 0);
  assert.deepEqual(moved, KEYS.filter((k) => before.get(k) === leaving.name), 'exactly the keys of the pod that left moved');
  assert.deepEqual(await stream, Array(5).fill(leaving.name), 'the stream in flight on the removed pod finished there');
  await until('nothing in flight', () => plane.board.totalInflight === 0);
});

test('a dead endpoint: its call in flight fails UNAVAILABLE, its keys go to their next owner, every call ends its pick once', async (t) => {
  const pods = await Promise.all(['pod-0', 'pod-1', 'pod-2', 'pod-3'].map((name) => startGrpcPodProcess(name)));
  t.after(() => Promise.all(pods.map((p) => p.kill())));
  const calls = recordCallEnds();
  t.after(() => calls.stop());
  const { client, plane: planeOpened } = openChannel(t, staticTarget(pods));
  const before = await servedBy(client, KEYS);
  assert.deepEqual(before, ownersOf(RING_DOC, specsOf(pods), KEYS));
  const plane = await planeOpened;

  const dead = pods[1]!;
  const deadKeys = KEYS.filter((k) => before.get(k) === dead.name);
  const stream = (client.StreamingOutputCall as (r: object, m: grpc.Metadata) => grpc.ClientReadableStream<unknown>)({ response_parameters: [{ size: 1, interval_us: 0 }, { size: 1, interval_us: 5_000_000 }] }, keyed(deadKeys[0]!));
  const failed = new Promise<grpc.ServiceError>((resolve) => stream.on('error', resolve));
  await once(stream, 'data');
  await dead.kill();
  assert.equal((await failed).code, grpc.status.UNAVAILABLE);

  const after = await servedBy(client, KEYS);
  assert.deepEqual(after, ownersOf(RING_DOC, specsOf(pods), KEYS, dead.name), "each of the dead pod's keys went to its next owner");
  for (const k of KEYS) if (!deadKeys.includes(k)) assert.equal(after.get(k), before.get(k), `${k} stayed`);
  await until('nothing in flight', () => plane.board.totalInflight === 0);
  assert.equal(calls.ends.length, 2 * KEYS.length + 1, 'one end per call');
  assert.deepEqual(
    calls.ends.filter((e) => e.code !== OK).map((e) => [e.endpoint, e.outcome]),
    [[dead.name, 'http-5xx']],
  );
});

test('calls that end before they start, start late, or are cancelled in flight leave nothing in flight', async (t) => {
  const pods = await startGrpcPods(2);
  t.after(() => closeGrpcPods(pods));
  const calls = recordCallEnds();
  t.after(() => calls.stop());
  const { client, plane: planeOpened } = openChannel(t, staticTarget(pods));
  await servedBy(client, KEYS.slice(0, 20));
  const plane = await planeOpened;
  const served = pods[0]!.calls + pods[1]!.calls;
  // Call credentials made after the pick: grpc-js starts the call only once they are made.
  const slowCredentials = (ms: number): grpc.CallCredentials => grpc.credentials.createFromMetadataGenerator((_params, cb) => setTimeout(() => cb(null, new grpc.Metadata()), ms));

  const expired = await Promise.all(KEYS.slice(0, 20).map((k) => unaryHost(client, keyed(k), { credentials: slowCredentials(100), deadline: Date.now() + 20 }).then(() => null, (e: unknown) => (e as grpc.ServiceError).code)));
  assert.deepEqual(new Set(expired), new Set([grpc.status.DEADLINE_EXCEEDED]));
  assert.equal(pods[0]!.calls + pods[1]!.calls, served, 'no call reached a pod');
  await until('nothing in flight after calls that never started', () => plane.board.totalInflight === 0);

  const late = KEYS.slice(0, 20).map((k) => unaryHost(client, keyed(k), { credentials: slowCredentials(50) }));
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(plane.board.totalInflight, 0, 'picks not started by the next turn are ended');
  await Promise.all(late);
  await until('nothing in flight after calls that started late', () => plane.board.totalInflight === 0);

  const streams = KEYS.slice(0, 20).map((k) => {
    const call = (client.StreamingOutputCall as (r: object, m: grpc.Metadata) => grpc.ClientReadableStream<unknown>)({ response_parameters: [{ size: 1, interval_us: 0 }, { size: 1, interval_us: 5_000_000 }] }, keyed(k));
    return new Promise<number>((resolve) => {
      call.once('data', () => call.cancel());
      call.on('error', (e: grpc.ServiceError) => resolve(e.code));
    });
  });
  assert.deepEqual(new Set(await Promise.all(streams)), new Set([grpc.status.CANCELLED]));
  await until('nothing in flight after cancelled streams', () => plane.board.totalInflight === 0);
  const outcomes = calls.ends.map((e) => e.outcome);
  assert.equal(outcomes.length, 20 + 20 + 20, 'one end for each call that started, none for those that never did');
  assert.equal(outcomes.filter((o) => o === 'cancelled').length, 20);
});

test('a channel and `shardgate serve` over the same endpoints file, configured alike, send every key to the same pod', async (t) => {
  const pods = await startGrpcPods(4);
  t.after(() => closeGrpcPods(pods));
  const { path: file } = await grpcEndpointsFile(t, pods);
  const served = new Served(t, ['serve', '--listen', '127.0.0.1:0', '--workers', '1', '--endpoints-file', file, '--balancer', 'maglev', '--bounded-load', '1.25', '--key', 'grpc:x-tenant', '--key-transform', 'prefix:9']);
  const proxy = testClient(`127.0.0.1:${(await served.address()).port}`);
  t.after(() => proxy.close());
  const { client } = openChannel(t, `shardgate:file/${file}`, { key: 'x-tenant', balancer: { algorithm: 'maglev', boundedLoad: 1.25 }, keyTransform: 'prefix:9' });
  // Sequential calls: nothing in flight, so bounded loads never spill and the home owner answers.
  for (const key of KEYS) {
    assert.equal(await unaryHost(client, keyed(key)), await unaryHost(proxy, keyed(key)), key);
  }
  assert.deepEqual(await served.stop('SIGTERM'), { code: 0, signal: null });
});

test('maxInflight: calls beyond the limit wait for room, and none fails', async (t) => {
  const pods = await startGrpcPods(2);
  t.after(() => closeGrpcPods(pods));
  const { client, plane: planeOpened } = openChannel(t, staticTarget(pods), { maxInflight: 1 });
  await connectAll(client, pods);
  const plane = await planeOpened;
  let most = 0;
  const sample = setInterval(() => {
    for (const load of plane.board.loads) most = Math.max(most, load.inflight);
  }, 2);
  t.after(() => clearInterval(sample));
  const started = Date.now();
  const streams = await Promise.all(Array.from({ length: 6 }, () => serverStreamHosts(client, keyed(null), 3, 20_000)));
  assert.equal(streams.flat().length, 18);
  assert.equal(most, 1, 'never more than one call at a pod');
  assert.ok(Date.now() - started >= 3 * 55, 'six calls of 60 ms took three rounds on two pods');
});

test('the shardgate policy over a target of another resolver fails calls, naming the targets it needs', async (t) => {
  const pods = await startGrpcPods(1);
  t.after(() => closeGrpcPods(pods));
  const { client } = openChannel(t, `ipv4:127.0.0.1:${pods[0]!.port}`, RING_POLICY);
  const failure = await unaryHost(client, keyed('tenant-1')).then(
    () => assert.fail('the call succeeded'),
    (e: unknown) => e as grpc.ServiceError,
  );
  assert.equal(failure.code, grpc.status.UNAVAILABLE);
  assert.match(failure.details, /the shardgate policy routes with the endpoints of a shardgate: target \(shardgate:k8s\//);
});

test("with a retryPolicy, a call its dead pod had not answered is retried on the key's next owner", async (t) => {
  const pods = await Promise.all(['pod-0', 'pod-1', 'pod-2'].map((name) => startGrpcPodProcess(name)));
  t.after(() => Promise.all(pods.map((p) => p.kill())));
  const retryPolicy = { maxAttempts: 3, initialBackoff: '0.05s', maxBackoff: '0.2s', backoffMultiplier: 2, retryableStatusCodes: ['UNAVAILABLE'] };
  const serviceConfig = { loadBalancingConfig: [{ shardgate: RING_POLICY }], methodConfig: [{ name: [{ service: 'grpc.testing.TestService' }], retryPolicy }] };
  const client = shardgateClient(staticTarget(pods), null, { 'grpc.service_config': JSON.stringify(serviceConfig) });
  t.after(() => client.close());
  const owners = await servedBy(client, KEYS);
  const dead = pods[1]!;
  const key = KEYS.find((k) => owners.get(k) === dead.name)!;
  const next = ownersOf(RING_DOC, specsOf(pods), [key], dead.name).get(key);
  // A duplex call the pod holds open without answering: nothing is committed yet.
  const call = (client.FullDuplexCall as (m: grpc.Metadata) => grpc.ClientDuplexStream<StreamingOutputCallRequest, SimpleResponse>)(keyed(key));
  const hosts: string[] = [];
  call.on('data', (m: SimpleResponse) => hosts.push(m.hostname));
  const ended = new Promise<void>((resolve, reject) => {
    call.on('end', resolve);
    call.on('error', reject);
  });
  await new Promise((resolve) => setTimeout(resolve, 200));
  await dead.kill();
  call.write({ response_parameters: [{ size: 1, interval_us: 0 }] });
  call.end();
  await ended;
  assert.deepEqual(hosts, [next]);
});
