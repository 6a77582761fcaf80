/**
 * Scene 5, a pod leaves: how many accounts change owner when the endpoint set goes from n to n - 1
 * pods. Ring hash moves only the departed pod's accounts (about 1/n); `hash % n` renumbers almost
 * every account (about 1 - 1/n for one pod fewer), including accounts whose pod never left.
 *
 * Counted two ways that must agree: with the balancers' pure `owner()` lookups over the two sets,
 * and through a real proxy, from which pod answered each account before and after the proxy is
 * handed the smaller set.
 */
import { Client } from 'undici';
import type { Balancer } from '../balancer/balancer.js';
import { monotonicClock } from '../balancer/clock.js';
import type { Endpoint, EndpointSet } from '../balancer/endpoint.js';
import { createEndpointSet } from '../balancer/endpoint.js';
import { defaultBalancerConfig } from '../balancer/factory.js';
import type { RoutingKey } from '../balancer/hash.js';
import { hashKey } from '../balancer/hash.js';
import { LoadBoard } from '../balancer/load-board.js';
import { accountHeaders, accountKeys } from './accounts.js';
import type { DemoProxy } from './demo-proxy.js';
import { createHashingBalancer, startDemoProxy } from './demo-proxy.js';
import { ModuloBalancer } from './modulo-balancer.js';
import type { PodFleet } from './pods.js';
import type { Report } from './report.js';
import { fraction } from './table.js';
import { sendSequential, withDispatcher } from './traffic.js';

export interface PodLeavesOptions {
  readonly accounts: number;
  /** Name of the pod that leaves the set. */
  readonly leaving: string;
  readonly loadFactor: number;
}

interface OwnerLookup extends Balancer {
  owner(key: RoutingKey): Endpoint | null;
}

export interface Moves {
  /** Keys whose owner differs between the two sets. */
  readonly moved: number;
  /** Of those, keys whose old owner is still in the set: moves a consistent hash would not make. */
  readonly movedBetweenSurvivors: number;
}

/** Compares owners by key index before and after `leaving` left. */
export function countMoves(before: readonly string[], after: readonly string[], leaving: string): Moves {
  if (before.length !== after.length) throw new RangeError(`owner lists differ in length: ${before.length} before, ${after.length} after`);
  let moved = 0;
  let movedBetweenSurvivors = 0;
  for (let i = 0; i < before.length; i++) {
    if (before[i] === after[i]) continue;
    moved++;
    if (before[i] !== leaving) movedBetweenSurvivors++;
  }
  return { moved, movedBetweenSurvivors };
}

interface Algorithm {
  readonly label: string;
  readonly build: (board: LoadBoard) => OwnerLookup;
}

export async function showPodLeaves(fleet: PodFleet, report: Report, seed: number, options: PodLeavesOptions): Promise<void> {
  const { accounts, leaving, loadFactor } = options;
  const keys = accountKeys(accounts);
  const routingKeys = keys.map(hashKey);
  const all = createEndpointSet(fleet.endpointSpecs(), 1);
  const fewer = createEndpointSet(fleet.endpointSpecs([leaving]), 2);
  const algorithms: readonly Algorithm[] = [
    { label: 'ring hash', build: (board) => createHashingBalancer(defaultBalancerConfig('ring-hash', loadFactor), board, monotonicClock, seed) },
    { label: 'hash % N', build: (board) => new ModuloBalancer(board) },
  ];

  const rows: string[][] = [];
  for (const algorithm of algorithms) {
    const lookup = algorithm.build(new LoadBoard(monotonicClock));
    const ownersIn = (set: EndpointSet): string[] => {
      lookup.update(set);
      return routingKeys.map((k) => lookup.owner(k)?.name ?? '-');
    };
    const computed = countMoves(ownersIn(all), ownersIn(fewer), leaving);
    const observed = await observeMoves(algorithm, keys, all, fewer, leaving);
    rows.push([algorithm.label, String(computed.moved), String(observed.moved), fraction(observed.moved, accounts), String(observed.movedBetweenSurvivors)]);
  }

  const n = all.endpoints.length;
  report.section('A pod leaves: which accounts change owner');
  report.say(
    `${leaving} leaves the endpoint set (${n} -> ${n - 1} pods). Owners of the ${accounts.toLocaleString('en-US')} accounts computed with owner(),`,
    'then observed through the proxy (one request per account before and after the proxy gets the new set):',
  );
  report.table(
    [
      { header: 'algorithm' },
      { header: 'moved: owner()', align: 'right' },
      { header: 'moved: proxy', align: 'right' },
      { header: 'fraction', align: 'right' },
      { header: 'moved between pods that stayed', align: 'right' },
    ],
    rows,
  );
  report.say(`The least any scheme can move is ${leaving}'s own accounts, about 1/${n} of them, and none between pods that stayed.`);
}

async function observeMoves(algorithm: Algorithm, keys: readonly string[], all: EndpointSet, fewer: EndpointSet, leaving: string): Promise<Moves> {
  const proxy: DemoProxy<OwnerLookup> = await startDemoProxy({ balancer: (board) => algorithm.build(board), endpoints: all });
  try {
    const pass = (): Promise<string[]> =>
      withDispatcher(new Client(proxy.origin), async (c) => (await sendSequential(c, keys.length, (i) => accountHeaders(keys[i]!))).map((r) => r.pod));
    const before = await pass();
    proxy.updateEndpoints(fewer);
    const after = await pass();
    return countMoves(before, after, leaving);
  } finally {
    await proxy.close();
  }
}
