/**
 * Scene 2, the fix: the same one-connection client through shardgate, which picks a pod for every
 * request (round robin here), so a single long-lived connection is spread over every pod.
 */
import { Client } from 'undici';
import { defaultBalancerConfig, createBalancer } from '../balancer/factory.js';
import { createEndpointSet } from '../balancer/endpoint.js';
import { seededRng } from '../balancer/rng.js';
import { startDemoProxy } from './demo-proxy.js';
import type { PodFleet } from './pods.js';
import type { Report } from './report.js';
import { sendSequential, withDispatcher } from './traffic.js';

export async function showRequestBalancing(fleet: PodFleet, report: Report, seed: number, requests: number, connectionLevel: ReadonlyMap<string, number>): Promise<void> {
  const proxy = await startDemoProxy({
    balancer: (board, clock) => createBalancer(defaultBalancerConfig('round-robin'), { clock, rng: seededRng(seed), board }),
    endpoints: createEndpointSet(fleet.endpointSpecs()),
  });
  try {
    fleet.reset();
    await withDispatcher(new Client(proxy.origin), (c) => sendSequential(c, requests));
  } finally {
    await proxy.close();
  }
  report.section('The fix: balance requests, not connections');
  report.say(`The same client, still one keep-alive connection, ${requests} requests through shardgate (round robin, a pick per request):`);
  report.table(
    [{ header: 'pod' }, { header: 'kube-proxy', align: 'right' }, { header: 'shardgate', align: 'right' }],
    fleet.pods.map((p) => [p.name, String(connectionLevel.get(p.name) ?? 0), String(p.requestCount)]),
  );
  report.say('Connection reuse no longer decides where requests go: each one is balanced on its own.');
}
