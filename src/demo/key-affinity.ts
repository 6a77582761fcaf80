/**
 * Scene 3, affinity: every account's requests go to one pod, the one ring hash assigns it. Counted
 * twice: by the pods (which keys each one saw) and by the client (which pod answered each request),
 * then checked against `HashingBalancer.owner()`, the pure lookup that the client library and the
 * lookup API answer with, so the proxy and the lookup are seen to agree.
 *
 * Requests go one at a time: with one request in flight no pod is ever above its bound, so bounded
 * loads never spill here and any account seen on two pods would be a routing bug, not load.
 */
import { Client } from 'undici';
import { createEndpointSet } from '../balancer/endpoint.js';
import { defaultBalancerConfig } from '../balancer/factory.js';
import { hashKey } from '../balancer/hash.js';
import { accountHeaders, accountKeys } from './accounts.js';
import { KEY_HEADER, createHashingBalancer, startDemoProxy } from './demo-proxy.js';
import type { PodFleet } from './pods.js';
import type { Report } from './report.js';
import { percent } from './table.js';
import { sendSequential, withDispatcher } from './traffic.js';

export interface KeyAffinityOptions {
  readonly accounts: number;
  readonly requestsPerAccount: number;
  readonly loadFactor: number;
}

export async function showKeyAffinity(fleet: PodFleet, report: Report, seed: number, options: KeyAffinityOptions): Promise<void> {
  const { accounts, requestsPerAccount, loadFactor } = options;
  const keys = accountKeys(accounts);
  const proxy = await startDemoProxy({
    balancer: (board, clock) => createHashingBalancer(defaultBalancerConfig('ring-hash', loadFactor), board, clock, seed),
    endpoints: createEndpointSet(fleet.endpointSpecs()),
  });
  let agree = 0;
  try {
    fleet.reset();
    // Accounts interleaved (0, 1, ..., 999, 0, 1, ...) so that an account's requests are far apart
    // in time, as a real client's would be, rather than back to back.
    const total = accounts * requestsPerAccount;
    const replies = await withDispatcher(new Client(proxy.origin), (c) => sendSequential(c, total, (i) => accountHeaders(keys[i % accounts]!)));
    const servedBy = new Map<string, Set<string>>();
    replies.forEach((r, i) => {
      const key = keys[i % accounts]!;
      let pods = servedBy.get(key);
      if (pods === undefined) servedBy.set(key, (pods = new Set()));
      pods.add(r.pod);
    });
    for (const key of keys) {
      const pods = servedBy.get(key);
      if (pods?.size === 1 && pods.has(proxy.balancer.owner(hashKey(key))?.name ?? '')) agree++;
    }
  } finally {
    await proxy.close();
  }

  const several = fleet.keysOnSeveralPods();
  report.section('Affinity: each account stays on one pod');
  report.say(
    `${accounts.toLocaleString('en-US')} accounts (${KEY_HEADER}: ${keys[0]} .. ${keys[accounts - 1]}), ${requestsPerAccount} requests each, one at a time,`,
    `through shardgate with ring hash and bounded loads (c = ${loadFactor}). Counted by the pods:`,
  );
  report.table(
    [{ header: 'pod' }, { header: 'accounts', align: 'right' }, { header: 'share', align: 'right' }, { header: 'requests', align: 'right' }],
    fleet.pods.map((p) => [p.name, String(p.keys.size), percent(p.keys.size, accounts), String(p.requestCount)]),
  );
  report.say(
    `Accounts seen on more than one pod: ${several} (bounded-load spills: ${proxy.balancer.stats.spills}).`,
    `Pod that answered = HashingBalancer.owner(account) for ${agree} of ${accounts} accounts: the proxy and the lookup agree.`,
  );
}
