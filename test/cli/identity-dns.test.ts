/**
 * Key identity through `shardgate serve --discovery srv:` under continuous keyed load: the real
 * binary reads a headless Service's SRV records from a real DNS server (dnsmasq, 1 s TTLs) while
 * pods scale up and down and one restarts at a new address. SRV targets name the pods
 * (`sharded-svc-2.sharded-svc...`), so keys follow names. Every step: no failed request, and
 * exactly the keys whose owner changed move (identity.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { endpointsApplied, podName as pod, startSrvSetup } from './identity.js';

test('identity, DNS SRV: scale up and down, restart at a new address: no failed request, only owners\' keys move', async (t) => {
  const { pods, dns, served, check, records, specs } = await startSrvSetup(t, 1);
  /** Publishes the records of `ids` and waits until the proxy logs them as its endpoints. */
  const publish = async (ids: readonly number[], what: string): Promise<void> => {
    const from = served.lines.length;
    await dns.setRecords(records(ids));
    await endpointsApplied(served, from, specs(ids), what);
  };

  const up = await check.step(
    'scale up 4 -> 5',
    async () => {
      await pods.start(pod(4));
      await publish([0, 1, 2, 3, 4], 'the fifth pod');
    },
    () => specs([0, 1, 2, 3, 4]),
  );
  assert.ok(up.length > 0 && up.every((k) => check.owners.get(k) === pod(4)), 'scale-up moves keys to the new pod only');

  const down = await check.step(
    'scale down 5 -> 4',
    async () => {
      await publish([0, 1, 2, 3], 'the fifth pod gone');
      await pods.stop(pod(4));
    },
    () => specs([0, 1, 2, 3]),
  );
  assert.deepEqual(down, up, 'scale-down moves back exactly the keys scale-up took');

  await check.restartAtNewAddress(pods, pod(1), () => publish([0, 1, 2, 3], 'the new address'), () => specs([0, 1, 2, 3]));

  assert.deepEqual(await served.stop('SIGTERM'), { code: 0, signal: null }, served.stderr);
});
