import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { Client } from 'undici';
import { seededRng } from '../../src/balancer/rng.js';
import { IptablesForwarder, iptablesChoice, iptablesProbabilities } from '../../src/demo/iptables-forwarder.js';
import { PodFleet } from '../../src/demo/pods.js';
import { getPod, sendSequential, withDispatcher } from '../../src/demo/traffic.js';

let fleet: PodFleet;

before(async () => {
  fleet = await PodFleet.start(4, { keyHeader: 'x-account', rng: seededRng(1) });
});

after(async () => {
  await fleet.close();
});

function targets(): { name: string; host: string; port: number }[] {
  return fleet.pods.map((p) => ({ name: p.name, ...p.listening }));
}

async function withForwarder<T>(forwarder: IptablesForwarder, use: (origin: string) => Promise<T>): Promise<T> {
  const { host, port } = await forwarder.listen(0, '127.0.0.1');
  try {
    return await use(`http://${host}:${port}`);
  } finally {
    await forwarder.close();
  }
}

test('iptablesProbabilities: kube-proxy chain for 4 pods is 1/4, 1/3, 1/2, 1', () => {
  assert.deepEqual(iptablesProbabilities(4), [0.25, 1 / 3, 0.5, 1]);
  assert.deepEqual(iptablesProbabilities(1), [1]);
});

test('iptablesChoice: every rule index comes out with probability 1/n', () => {
  const rng = seededRng(42);
  const n = 4;
  const draws = 40_000;
  const counts = new Array<number>(n).fill(0);
  for (let i = 0; i < draws; i++) counts[iptablesChoice(n, rng)]!++;
  for (const c of counts) assert.ok(Math.abs(c - draws / n) < draws / n / 20, `counts ${counts.join('/')} stray more than 5% from ${draws / n}`);
});

test('iptablesChoice: one endpoint always matches the last, unconditional rule without drawing', () => {
  let draws = 0;
  const draw = (): number => {
    draws++;
    return 0;
  };
  const rng = { nextUint32: draw, below: draw };
  assert.equal(iptablesChoice(1, rng), 0);
  assert.equal(draws, 0);
});

test('iptablesChoice: the same seed walks the same chain', () => {
  const a = seededRng(9);
  const b = seededRng(9);
  const seqA = Array.from({ length: 50 }, () => iptablesChoice(4, a));
  const seqB = Array.from({ length: 50 }, () => iptablesChoice(4, b));
  assert.deepEqual(seqA, seqB);
});

test('forwarder: 400 new connections follow the iptables probabilities (each pod 60-140)', async () => {
  const forwarder = new IptablesForwarder(targets(), seededRng(7));
  await withForwarder(forwarder, async (origin) => {
    fleet.reset();
    await withDispatcher(new Client(origin), (c) => sendSequential(c, 400, undefined, { newConnection: true }));
  });
  const perPod = fleet.pods.map((p) => p.requestCount);
  assert.deepEqual(forwarder.stats.connections, perPod, 'one request per connection: pods count what the forwarder chose');
  assert.equal(perPod.reduce((a, b) => a + b, 0), 400);
  for (const c of perPod) assert.ok(c >= 60 && c <= 140, `requests per pod ${perPod.join('/')}`);
  assert.equal(forwarder.stats.connectFailed + forwarder.stats.reset, 0);
});

test('forwarder: every request of one keep-alive connection goes to the pod chosen at connect', async () => {
  const forwarder = new IptablesForwarder(targets(), seededRng(3));
  const replies = await withForwarder(forwarder, (origin) => withDispatcher(new Client(origin), (c) => sendSequential(c, 50)));
  assert.equal(new Set(replies.map((r) => r.pod)).size, 1, `pods: ${[...new Set(replies.map((r) => r.pod))].join(', ')}`);
  assert.equal(forwarder.stats.connections.reduce((a, b) => a + b, 0), 1);
  assert.deepEqual(replies.map((r) => r.requestCount).slice(-2), [replies.at(-2)!.requestCount, replies.at(-2)!.requestCount + 1]);
});

test('forwarder: a pod that refuses the connection counts as connect-failed and closes the client side', async () => {
  const dead = createServer();
  dead.listen(0, '127.0.0.1');
  await once(dead, 'listening');
  const { port } = dead.address() as AddressInfo;
  dead.close();
  await once(dead, 'close');

  const forwarder = new IptablesForwarder([{ name: 'gone', host: '127.0.0.1', port }], seededRng(1));
  await withForwarder(forwarder, async (origin) => {
    const client = new Client(origin);
    try {
      await assert.rejects(getPod(client));
    } finally {
      await client.destroy();
    }
  });
  assert.equal(forwarder.stats.connectFailed, 1);
  assert.deepEqual(forwarder.stats.connections, [1]);
});

test('forwarder: close() cuts open keep-alive connections instead of waiting for them', async () => {
  const forwarder = new IptablesForwarder(targets(), seededRng(5));
  const { host, port } = await forwarder.listen(0, '127.0.0.1');
  const client = new Client(`http://${host}:${port}`);
  try {
    await getPod(client);
    const t0 = performance.now();
    await forwarder.close();
    assert.ok(performance.now() - t0 < 1000, 'close() waited for an idle keep-alive connection');
  } finally {
    await client.destroy();
  }
});

test('forwarder: needs at least one target', () => {
  assert.throws(() => new IptablesForwarder([], seededRng(1)), /at least one target/);
});
