/**
 * Scene 4, a hot key: many concurrent requests for one account against slow pods. Plain consistent
 * hashing sends all of them to the owner. With bounded loads (Mirrokni, Thorup, Zadimoghaddam,
 * arXiv 1608.01350) a pod takes a request only while it stays within ceil(c x average in-flight);
 * the rest walk the key's own ring order, so they always spill to the same next pods.
 *
 * Concurrency is measured at the pods (each counts its requests in flight), never taken from the
 * balancer. The printed bound uses the client's concurrency as the total in flight: the proxy can
 * never hold more requests than the client has open, so ceil(c x concurrency / pods) is an upper
 * bound on every bound the balancer applied.
 */
import { Pool } from 'undici';
import { loadBound } from '../balancer/bounded-load.js';
import type { EndpointSet } from '../balancer/endpoint.js';
import { createEndpointSet } from '../balancer/endpoint.js';
import { defaultBalancerConfig } from '../balancer/factory.js';
import { hashKey } from '../balancer/hash.js';
import type { HashingBalancer } from '../balancer/hashing-balancer.js';
import { accountHeaders } from './accounts.js';
import { KEY_HEADER, createHashingBalancer, startDemoProxy } from './demo-proxy.js';
import type { PodDelay, PodFleet } from './pods.js';
import type { Report } from './report.js';
import { sendConcurrent, withDispatcher } from './traffic.js';

export interface HotKeyOptions {
  readonly key: string;
  readonly requests: number;
  readonly concurrency: number;
  readonly loadFactor: number;
  readonly delay: PodDelay;
}

interface HotKeyRun {
  /** Peak requests in flight at each pod, by pod name. */
  readonly peak: ReadonlyMap<string, number>;
  readonly served: ReadonlyMap<string, number>;
  /** Peak in flight summed over the pods. */
  readonly peakTotal: number;
  readonly spills: number;
  readonly balancer: HashingBalancer;
}

export async function showHotKey(fleet: PodFleet, report: Report, seed: number, options: HotKeyOptions): Promise<void> {
  const { key, requests, concurrency, loadFactor, delay } = options;
  const endpoints = createEndpointSet(fleet.endpointSpecs());
  fleet.setDelay(delay);
  let plain: HotKeyRun;
  let bounded: HotKeyRun;
  try {
    plain = await runHotKey(fleet, endpoints, seed, options, null);
    bounded = await runHotKey(fleet, endpoints, seed, options, loadFactor);
  } finally {
    fleet.setDelay(null);
  }

  const n = fleet.pods.length;
  // The balancer's own bound for a pod of weight 1 when `concurrency` requests, the new one included, are in flight.
  const bound = loadBound(loadFactor, concurrency - 1, 1, n);
  const order = bounded.balancer.preference(hashKey(key), n);
  const owner = order[0]!.name;
  const role = (i: number): string => (i === 0 ? 'owner' : `spill ${i}`);
  report.section('A hot account: bounded loads spill it, always to the same next pods');
  report.say(
    `${requests} requests for ${KEY_HEADER}: ${key}, ${concurrency} at a time, pods answering in ${delay.minMs}-${delay.maxMs} ms.`,
    `Ring hash alone, then with bounded loads. Rows follow the account's ring order; peaks are requests`,
    'in flight measured at each pod.',
  );
  const s = (m: ReadonlyMap<string, number>, name: string): string => String(m.get(name) ?? 0);
  report.table(
    [
      { header: 'pod' },
      { header: 'ring order' },
      { header: 'no bound: peak', align: 'right' },
      { header: 'requests', align: 'right' },
      { header: `c = ${loadFactor}: peak`, align: 'right' },
      { header: 'requests', align: 'right' },
    ],
    order.map((e, i) => [e.name, role(i), s(plain.peak, e.name), s(plain.served, e.name), s(bounded.peak, e.name), s(bounded.served, e.name)]),
  );
  report.say(
    `Peak in flight over all pods: ${bounded.peakTotal}; bound = ceil(c x in-flight / pods) = ceil(${loadFactor} x ${concurrency} / ${n}) = ${bound}.`,
    `Owner ${owner}: peak ${s(plain.peak, owner)} without a bound, ${s(bounded.peak, owner)} with it (bound ${bound}); ${bounded.spills} requests spilled past it.`,
  );
}

async function runHotKey(fleet: PodFleet, endpoints: EndpointSet, seed: number, options: HotKeyOptions, loadFactor: number | null): Promise<HotKeyRun> {
  const proxy = await startDemoProxy({
    balancer: (board, clock) => createHashingBalancer(defaultBalancerConfig('ring-hash', loadFactor), board, clock, seed),
    endpoints,
  });
  try {
    fleet.reset();
    const headers = accountHeaders(options.key);
    const pool = new Pool(proxy.origin, { connections: options.concurrency });
    await withDispatcher(pool, (p) => sendConcurrent(p, options.requests, options.concurrency, () => headers));
    return {
      peak: new Map(fleet.pods.map((p) => [p.name, p.peakInflight])),
      served: new Map(fleet.pods.map((p) => [p.name, p.requestCount])),
      peakTotal: fleet.gauge.peakInflight,
      spills: proxy.balancer.stats.spills,
      balancer: proxy.balancer,
    };
  } finally {
    await proxy.close();
  }
}
