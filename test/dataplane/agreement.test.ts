/**
 * One core, five routers, one owner per key. Over the same endpoints file and the same config
 * document, each built on its own: the proxy (`shardgate serve`, asked through the directory on
 * its own admin listener and through requests), the fetch dispatcher (`shardgate/client`), a gRPC
 * channel under the shardgate policy (`shardgate/grpc`), the look-aside directory (`shardgate
 * directory`) and the pod-side helper (`shardgate/owner`) name the same owner for each of 10,000
 * keys, for every keyed balancer, before and after a pod leaves and after pods join. A sample of
 * the keys then goes through real requests: through the proxy, through the dispatcher, as gRPC
 * calls, and look-aside (the directory's answer, then a request straight to the pod it names);
 * each reaches the pod the others named.
 *
 * The pods answer HTTP/1.1 and gRPC on one port, so that every router follows one file.
 * Requests are sent one at a time, so bounded loads never spill a key off its home (spills
 * depend on live load, which no directory predicts).
 */
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { test } from 'node:test';
import { pino } from 'pino';
import { request } from 'undici';
import { createEndpointSet } from '../../src/balancer/endpoint.js';
import type { EndpointSpec } from '../../src/balancer/endpoint.js';
import { registerShardgate } from '../../src/client/grpc/register-shardgate.js';
import type { ShardDispatcher } from '../../src/client/shard-dispatcher.js';
import type { DataPlane } from '../../src/dataplane/data-plane.js';
import { MAX_BATCH } from '../../src/directory/directory.js';
import type { AssignmentSnapshot } from '../../src/directory/directory.js';
import { membershipOf } from '../../src/directory/membership.js';
import type { OwnerAnswer } from '../../src/directory/owner-answer.js';
import type { Ownership } from '../../src/owner/ownership.js';
import { watchOwnership } from '../../src/owner/ownership.js';
import { Served, tempDir } from '../cli/run.js';
import type { DualPod } from '../helpers/dual-pod.js';
import { ECHO_SERVICE, startDualPod } from '../helpers/dual-pod.js';
import { nextPlane } from '../helpers/grpc-client.js';
import { openDispatcher, ownerOf, SERVICE, SERVICE_URL, silent } from '../helpers/shard-client.js';

registerShardgate({ logger: pino({ level: 'silent' }) });

/** Decimal keys, so that ordinal and ranges read them as numbers; the hashing balancers hash them. */
const KEYS = Array.from({ length: 10_000 }, (_, i) => String(i));
/** Every 250th key goes through real requests: 40 per router and membership. */
const SAMPLE = KEYS.filter((_, i) => i % 250 === 7);
const KEY_HEADER = 'x-account';
const NO_OWNER = '(none)';

/** Every keyed balancer, as a config file's `balancer:` writes it. */
const BALANCERS: Readonly<Record<string, Readonly<Record<string, unknown>>>> = {
  'ring-hash': { algorithm: 'ring-hash', boundedLoad: 1.25 },
  maglev: { algorithm: 'maglev', boundedLoad: 1.25 },
  rendezvous: { algorithm: 'rendezvous', boundedLoad: 1.25 },
  'rendezvous table': { algorithm: 'rendezvous', table: true, boundedLoad: 1.25 },
  jump: { algorithm: 'jump', boundedLoad: 1.25 },
  ordinal: { algorithm: 'ordinal', onMissing: 'next' },
  ranges: {
    algorithm: 'ranges',
    onMissing: 'next',
    ranges: [
      { from: 0, to: 2_499, endpoint: 'sharded-svc-0' },
      { from: 2_500, to: 4_999, endpoint: 'sharded-svc-1' },
      { from: 5_000, to: 7_499, endpoint: 'sharded-svc-2' },
      { from: 7_500, to: 9_999, endpoint: 'sharded-svc-3' },
    ],
  },
  lookup: {
    algorithm: 'lookup',
    default: 'maglev',
    onMissing: 'next',
    entries: [
      { key: '4242', endpoint: 'sharded-svc-1' },
      { prefix: '12', endpoint: 'sharded-svc-3' },
      { prefix: '123', endpoint: 'sharded-svc-1' },
      { prefix: '9', endpoint: 'sharded-svc-4' },
    ],
  },
};

/** The memberships each router goes through, by pod ordinal. */
const PHASES: readonly { readonly what: string; readonly pods: readonly number[] }[] = [
  { what: 'four pods', pods: [0, 1, 2, 3] },
  { what: 'sharded-svc-1 left', pods: [0, 2, 3] },
  { what: 'sharded-svc-1 back, sharded-svc-4 joined', pods: [0, 1, 2, 3, 4] },
];

/** The five routers over one file, for one balancer. */
interface Routers {
  readonly proxyPort: number;
  readonly proxyAdmin: number;
  readonly directory: number;
  readonly dispatcher: ShardDispatcher;
  readonly channel: grpc.Client;
  readonly channelPlane: DataPlane;
  readonly ownership: Ownership;
}

test('agreement: proxy, dispatcher, gRPC policy, directory and pod-side helper name the same owner for 10,000 keys, for every keyed balancer, as pods leave and join', async (t) => {
  const pods = await Promise.all([0, 1, 2, 3, 4].map((i) => startDualPod(`sharded-svc-${i}`)));
  t.after(() => Promise.all(pods.map((p) => p.close())));
  for (const [name, balancer] of Object.entries(BALANCERS)) {
    await t.test(name, async (st) => {
      const dir = await tempDir(st);
      const file = join(dir, 'endpoints.json');
      await writeMembership(file, pods, PHASES[0]!.pods);
      const doc = { endpointsFile: file, balancer, key: `header:${KEY_HEADER}` };
      const configFile = join(dir, 'shardgate.yaml');
      // JSON is YAML: the one document every router reads.
      await writeFile(configFile, JSON.stringify(doc));
      const routers = await openRouters(st, configFile, doc, balancer);
      let previous: readonly string[] | null = null;
      for (const phase of PHASES) {
        await writeMembership(file, pods, phase.pods);
        const expected = membershipOf(createEndpointSet(specsOf(pods, phase.pods)));
        await converged(routers, expected, `${name}, ${phase.what}`);
        const owners = await agreedOwners(routers);
        // Every pod present owns some keys, and none that is absent does.
        const present = new Set(phase.pods.map((i) => pods[i]!.name));
        for (const o of owners) assert.ok(present.has(o), `${name}, ${phase.what}: ${o} is not in the set`);
        if (name !== 'ranges') assert.equal(new Set(owners).size, present.size, `${name}, ${phase.what}: every pod owns keys`);
        await sampleRequests(routers, owners, pods, `${name}, ${phase.what}`);
        if (previous !== null) {
          const moved = owners.filter((o, i) => o !== previous![i]).length;
          st.diagnostic(`${phase.what}: ${moved} of ${KEYS.length} keys moved`);
        }
        previous = owners;
      }
    });
  }
});

async function openRouters(t: TestContext, configFile: string, doc: Readonly<Record<string, unknown>>, balancer: Readonly<Record<string, unknown>>): Promise<Routers> {
  const proxy = new Served(t, ['serve', '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--workers', '1', '--config', configFile]);
  const directory = new Served(t, ['directory', '--listen', '127.0.0.1:0', '--config', configFile]);
  t.after(async () => {
    await Promise.all([proxy.stop(), directory.stop()]);
  });
  const dispatcher = await openDispatcher(t, { [SERVICE]: doc });
  const planeOpened = nextPlane();
  const Echo = grpc.makeGenericClientConstructor(ECHO_SERVICE, 'Echo');
  const channel = new Echo(`shardgate:file/${String(doc['endpointsFile'])}`, grpc.credentials.createInsecure(), {
    'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ shardgate: { key: KEY_HEADER, balancer } }] }),
  });
  t.after(() => channel.close());
  // The channel's resolver, and with it its plane, starts with its first call.
  await callOwner(channel, SAMPLE[0]!);
  const ownership = await watchOwnership({ self: 'sharded-svc-0', config: configFile, logger: silent });
  t.after(() => ownership.close());
  return {
    proxyPort: (await proxy.address()).port,
    proxyAdmin: await listeningPort(proxy, 'admin listening'),
    directory: await listeningPort(directory, 'listening'),
    dispatcher,
    channel,
    channelPlane: await planeOpened,
    ownership,
  };
}

/** Waits until all five routers hold the membership `expected` (its fingerprint). */
async function converged(r: Routers, expected: string, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const seen = {
      proxy: (await getJson<AssignmentSnapshot>(r.proxyAdmin, '/v1/assignments')).membership,
      directory: (await getJson<AssignmentSnapshot>(r.directory, '/v1/assignments')).membership,
      dispatcher: membershipOf(r.dispatcher.plane(SERVICE)!.current!),
      grpc: membershipOf(r.channelPlane.current!),
      owner: r.ownership.current.membership,
    };
    if (Object.values(seen).every((m) => m === expected)) return;
    if (Date.now() > deadline) assert.fail(`${what}: not every router has membership ${expected} after 10 s: ${JSON.stringify(seen)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Each router's owner of every key; asserts they are one list and returns it. */
async function agreedOwners(r: Routers): Promise<string[]> {
  const grpcPlane = r.channelPlane;
  const answers: Record<string, string[]> = {
    'shardgate serve (its admin directory)': (await ownersFrom(r.proxyAdmin)).map((a) => a.endpoint ?? NO_OWNER),
    'shardgate directory': (await ownersFrom(r.directory)).map((a) => a.endpoint ?? NO_OWNER),
    'shardgate/client dispatcher': KEYS.map((k) => ownerOf(r.dispatcher, SERVICE, k)),
    'shardgate/grpc policy': KEYS.map((k) => {
      const p = grpcPlane.balancer.pick(grpcPlane.key(k), null);
      if (p.kind === 'none') return NO_OWNER;
      p.done(grpcPlane.clock.nowMs(), 'cancelled');
      return p.endpoint.name;
    }),
    'shardgate/owner helper': KEYS.map((k) => r.ownership.owner(k)?.endpoint ?? NO_OWNER),
  };
  const [[reference, owners], ...others] = Object.entries(answers) as [[string, string[]], ...[string, string[]][]];
  for (const [router, names] of others) {
    const differ = KEYS.filter((_, i) => names[i] !== owners[i]);
    assert.deepEqual(
      differ.slice(0, 5).map((k) => `${k}: ${names[Number(k)]}`),
      differ.slice(0, 5).map((k) => `${k}: ${owners[Number(k)]}`),
      `${router} names another owner than ${reference} for ${differ.length} of ${KEYS.length} keys`,
    );
  }
  // The helper's own question, owns(), agrees with its owner().
  for (const [i, k] of KEYS.entries()) if (r.ownership.owns(k) !== (owners[i] === 'sharded-svc-0')) assert.fail(`owns(${k}) disagrees with owner(${k})`);
  return owners;
}

/** The sample through real requests: each reaches the owner the routers named. */
async function sampleRequests(r: Routers, owners: readonly string[], pods: readonly DualPod[], what: string): Promise<void> {
  for (const key of SAMPLE) {
    const owner = owners[Number(key)]!;
    const headers = { [KEY_HEADER]: key };
    const viaProxy = await request(`http://127.0.0.1:${r.proxyPort}/orders`, { headers });
    assert.equal(await viaProxy.body.text(), owner, `${what}: key ${key} through the proxy`);
    const viaDispatcher = await request(`${SERVICE_URL}/orders`, { dispatcher: r.dispatcher, headers });
    assert.equal(await viaDispatcher.body.text(), owner, `${what}: key ${key} through the dispatcher`);
    assert.equal(await callOwner(r.channel, key), owner, `${what}: key ${key} as a gRPC call`);
    // Look-aside: ask the directory, then call the pod it names, at the address it gives.
    const answer = await getJson<OwnerAnswer>(r.directory, `/v1/owner?key=${key}`);
    assert.equal(answer.endpoint, owner, `${what}: key ${key} from the directory`);
    assert.equal(answer.address, pods.find((p) => p.name === owner)!.address);
    const direct = await request(`http://${answer.address}/orders`, { headers });
    assert.equal(await direct.body.text(), owner, `${what}: key ${key} at the address the directory gave`);
  }
}

function callOwner(channel: grpc.Client, key: string): Promise<string> {
  const metadata = new grpc.Metadata();
  metadata.set(KEY_HEADER, key);
  const call = (channel as unknown as Record<string, (req: Buffer, md: grpc.Metadata, cb: (e: grpc.ServiceError | null, res?: Buffer) => void) => void>)['Call']!;
  return new Promise((resolve, reject) => {
    call.call(channel, Buffer.alloc(0), metadata, (e, res) => (e === null ? resolve(String(res)) : reject(e)));
  });
}

/** The owners a directory names for KEYS, asked in batches of the most it takes at once. */
async function ownersFrom(port: number): Promise<OwnerAnswer[]> {
  const out: OwnerAnswer[] = [];
  for (let i = 0; i < KEYS.length; i += MAX_BATCH) {
    const r = await request(`http://127.0.0.1:${port}/v1/owners`, { method: 'POST', body: JSON.stringify(KEYS.slice(i, i + MAX_BATCH)) });
    const body = (await r.body.json()) as { owners: OwnerAnswer[] };
    assert.equal(r.statusCode, 200, JSON.stringify(body));
    out.push(...body.owners);
  }
  return out;
}

async function getJson<T>(port: number, path: string): Promise<T> {
  const r = await request(`http://127.0.0.1:${port}${path}`);
  const body = (await r.body.json()) as T;
  assert.equal(r.statusCode, 200, `${path}: ${JSON.stringify(body)}`);
  return body;
}

async function listeningPort(served: Served, msg: string): Promise<number> {
  const line = await served.waitFor((l) => l.msg === msg, JSON.stringify(msg));
  return Number(/:(\d+)$/.exec(String(line.address))![1]);
}

function specsOf(pods: readonly DualPod[], present: readonly number[]): EndpointSpec[] {
  return present.map((i) => ({ name: pods[i]!.name, address: pods[i]!.address }));
}

/** Replaces the endpoints file at once (write, then rename), as a ConfigMap update lands. */
async function writeMembership(file: string, pods: readonly DualPod[], present: readonly number[]): Promise<void> {
  await writeFile(`${file}.tmp`, JSON.stringify(specsOf(pods, present)));
  await rename(`${file}.tmp`, file);
}
