import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Client, Pool } from 'undici';
import { seededRng } from '../../src/balancer/rng.js';
import { PodFleet } from '../../src/demo/pods.js';
import { getPod, sendConcurrent, sendSequential, withDispatcher } from '../../src/demo/traffic.js';

let fleet: PodFleet;

before(async () => {
  fleet = await PodFleet.start(2, { keyHeader: 'x-account', rng: seededRng(1) });
});

after(async () => {
  await fleet.close();
});

test('pod: answers {"pod","request_count"} and counts every request', async () => {
  fleet.reset();
  const pod = fleet.get('pod-1');
  const replies = await withDispatcher(new Client(`http://${pod.address}`), (c) => sendSequential(c, 3));
  assert.deepEqual(replies, [1, 2, 3].map((n) => ({ pod: 'pod-1', requestCount: n })));
  assert.equal(pod.requestCount, 3);
  assert.equal(fleet.get('pod-0').requestCount, 0);
});

test('pod: records keys from its key header, and the fleet counts keys seen on several pods', async () => {
  fleet.reset();
  for (const [pod, keys] of [['pod-0', ['a', 'b', 'a']], ['pod-1', ['b', 'c']]] as const) {
    await withDispatcher(new Client(`http://${fleet.get(pod).address}`), async (c) => {
      for (const k of keys) await getPod(c, { 'x-account': k });
      await getPod(c);
    });
  }
  assert.deepEqual([...fleet.get('pod-0').keys], [['a', 2], ['b', 1]]);
  assert.deepEqual([...fleet.get('pod-1').keys], [['b', 1], ['c', 1]]);
  assert.equal(fleet.keysOnSeveralPods(), 1, 'only b reached both pods');
});

test('pod: a slow pod shows its concurrency as peak in flight, and in-flight returns to zero', async () => {
  fleet.reset();
  const pod = fleet.get('pod-0');
  pod.setDelay({ minMs: 20, maxMs: 30 });
  try {
    await withDispatcher(new Pool(`http://${pod.address}`, { connections: 8 }), (p) => sendConcurrent(p, 16, 8));
  } finally {
    pod.setDelay(null);
  }
  assert.equal(pod.peakInflight, 8);
  assert.equal(fleet.gauge.peakInflight, 8);
  assert.equal(pod.inflight, 0);
  assert.equal(fleet.gauge.inflight, 0);
  assert.equal(pod.requestCount, 16);
});

test('pod: rejects a delay range that cannot be drawn from', () => {
  assert.throws(() => fleet.get('pod-0').setDelay({ minMs: 30, maxMs: 20 }), /minMs <= maxMs/);
});

test('fleet: endpoint specs name every pod by its address, minus the ones leaving', () => {
  const specs = fleet.endpointSpecs(['pod-0']);
  assert.deepEqual(specs, [{ name: 'pod-1', address: fleet.get('pod-1').address }]);
  assert.match(specs[0]!.address, /^127\.0\.0\.1:\d+$/);
  assert.throws(() => fleet.get('pod-9'), /no pod named "pod-9"/);
});
