/**
 * Key identity through `shardgate serve --discovery k8s:` under continuous keyed load: the real
 * binary watches the fake API server's EndpointSlices while pods scale up and down, restart at a
 * new address, terminate (drain, then go), and the API server itself goes away and comes back.
 * Every step: no failed request, and exactly the keys whose owner changed move (identity.ts).
 *
 * Each pod has a slice of its own, so that each can have its own loopback port, as pods on their
 * own IPs share one.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EndpointSpec } from '../../src/balancer/endpoint.js';
import { FakeApiServer, podEndpoint, slice } from '../helpers/fake-apiserver.js';
import type { FakeEndpoint } from '../helpers/fake-apiserver.js';
import { writeKubeconfig } from '../helpers/kubeconfig.js';
import { endpointsApplied, IdentityCheck, podName as pod, Pods, SERVE_FLAGS, specOfPod } from './identity.js';
import { Served } from './run.js';

const TERMINATING: FakeEndpoint['conditions'] = { ready: false, serving: true, terminating: true };

test('identity, k8s: scale up and down, restart at a new address, terminate, API server outage: no failed request, only owners\' keys move', async (t) => {
  const pods = new Pods(t);
  const api = await FakeApiServer.start();
  t.after(() => api.close());
  const publish = (i: number, conditions?: FakeEndpoint['conditions']): void => {
    const ep = podEndpoint(pod(i), '127.0.0.1', conditions === undefined ? {} : { conditions });
    api.apply(slice('default', 'sharded-svc', `sharded-svc-${i}`, [ep], { http: pods.get(pod(i)).port }));
  };
  const specs = (ids: readonly number[], draining: number | null = null): EndpointSpec[] => ids.map((i) => specOfPod(pods, pod(i), i === draining));
  for (const i of [0, 1, 2, 3]) {
    await pods.start(pod(i));
    publish(i);
  }
  const kubeconfig = await writeKubeconfig(t, api);
  const served = new Served(t, ['serve', ...SERVE_FLAGS, '--workers', '1', '--discovery', 'k8s:default/sharded-svc:http'], { KUBECONFIG: kubeconfig });
  const { port } = await served.address();
  const check = new IdentityCheck(t, port, specs([0, 1, 2, 3]));
  await check.begin();
  /** Waits until the proxy logs the endpoints `ids` (with `draining` so marked) after line `from`. */
  const applied = async (ids: readonly number[], what: string, from: number, draining: number | null = null): Promise<void> => {
    await endpointsApplied(served, from, specs(ids, draining), what);
  };

  const up = await check.step(
    'scale up 4 -> 5',
    async () => {
      const from = served.lines.length;
      await pods.start(pod(4));
      publish(4);
      await applied([0, 1, 2, 3, 4], 'the fifth pod', from);
    },
    () => specs([0, 1, 2, 3, 4]),
  );
  assert.ok(up.length > 0 && up.every((k) => check.owners.get(k) === pod(4)), 'scale-up moves keys to the new pod only');

  const down = await check.step(
    'scale down 5 -> 4',
    async () => {
      const from = served.lines.length;
      api.delete('default', 'sharded-svc-4');
      await applied([0, 1, 2, 3], 'the fifth pod gone', from);
      await pods.stop(pod(4));
    },
    () => specs([0, 1, 2, 3]),
  );
  assert.deepEqual(down, up, 'scale-down moves back exactly the keys scale-up took');

  await check.restartAtNewAddress(
    pods,
    pod(2),
    async () => {
      const from = served.lines.length;
      publish(2);
      await applied([0, 1, 2, 3], 'the new address', from);
    },
    () => specs([0, 1, 2, 3]),
  );

  // serving && terminating: the pod drains (its keys go to their next owners, its requests under
  // way finish), then it stops and leaves the slice.
  const draining = await check.step(
    'terminating pod drains',
    async () => {
      const from = served.lines.length;
      publish(3, TERMINATING);
      await applied([0, 1, 2, 3], 'the draining pod', from, 3);
    },
    () => specs([0, 1, 2, 3], 3),
  );
  assert.ok(draining.length > 0 && draining.every((k) => check.owners.get(k) !== pod(3)), 'a draining pod\'s keys go elsewhere');
  const drainedAnswers = check.load.answers.get(pod(3));
  await check.load.snapshot();
  assert.equal(check.load.answers.get(pod(3)), drainedAnswers, 'a draining pod gets no new request');
  const gone = await check.step(
    'terminated pod leaves',
    async () => {
      await pods.stop(pod(3));
      const from = served.lines.length;
      api.delete('default', 'sharded-svc-3');
      await applied([0, 1, 2], 'the terminated pod gone', from);
    },
    () => specs([0, 1, 2]),
  );
  assert.deepEqual(gone, [], 'removing a pod that had drained moves no key');

  // The API server goes away: the proxy keeps routing with the set it has. A pod added meanwhile
  // arrives once the watch is back.
  assert.ok(api.openWatches > 0, 'the proxy watches');
  const outage = await check.step(
    'API server down',
    async () => {
      await api.goDown();
      await check.load.snapshot();
    },
    () => specs([0, 1, 2]),
  );
  assert.deepEqual(outage, [], 'no key moves while the API server is down');
  const back = await check.step(
    'API server back with a pod added while it was down',
    async () => {
      const from = served.lines.length;
      await pods.start(pod(3));
      publish(3);
      await api.comeBack();
      await applied([0, 1, 2, 3], 'the pod added during the outage', from);
    },
    () => specs([0, 1, 2, 3]),
  );
  assert.ok(back.length > 0 && back.every((k) => check.owners.get(k) === pod(3)), 'the pod added during the outage takes its keys, and only those move');

  assert.deepEqual(await served.stop('SIGTERM'), { code: 0, signal: null }, served.stderr);
});
