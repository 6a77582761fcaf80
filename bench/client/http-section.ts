/**
 * bench:client's HTTP section: the dispatcher beside a plain undici Pool, in this process, against
 * the same pods (a child process of their own, so that this process's CPU is the client's alone).
 * Each client is driven by the same load loop (load-loop.ts) with the same headers; clients
 * alternate within a round, the order turning each round, after one unmeasured warm-up each.
 *
 * - `undici Pool, one pod`: what a client without balancing does; the goal is measured against it;
 * - `undici BalancedPool`: undici's own round robin over the same pods, what spreading costs
 *   without any routing (more sockets, each less busy);
 * - `dispatcher, ring-hash, one pod`: createShardDispatcher over the Pool's pod alone, each
 *   request picked by its `x-tenant` key (read, hashed, picked, ended), retries and outlier
 *   detection on: the routing's own cost, on the same sockets as the Pool;
 * - `dispatcher, ring-hash` and `dispatcher, p2c` (no key: power of two choices over in-flight
 *   counts): over all the pods.
 */
import { pino } from 'pino';
import { BalancedPool, Pool } from 'undici';
import type { Dispatcher } from 'undici';
import { createShardDispatcher } from '../../src/client/create-shard-dispatcher.js';
import type { ServiceOptions } from '../../src/client/service-options.js';
import type { BenchRun } from '../common/bench-run.js';
import { PodFleet } from '../common/pod-fleet.js';
import type { PodAddress } from '../common/pod-messages.js';
import type { LoadResult, LoadTarget } from './load-loop.js';
import { runLoad } from './load-loop.js';
import type { ClientRuns } from './report.js';
import { httpTable } from './report.js';
import type { ClientBenchSettings } from './settings.js';

const POD_COUNT = 4;
const KEYS = 1_000;
const WARM_UP_MS = 1_000;
const SERVICE = 'sharded-svc.bench:8080';

interface Client {
  readonly name: string;
  readonly baseline: boolean;
  /** A dispatcher row, held to the CPU goal. */
  readonly goal: boolean;
  readonly dispatcher: Dispatcher;
  readonly target: LoadTarget;
}

export async function httpSection(run: BenchRun, settings: ClientBenchSettings): Promise<string> {
  const fleet = await PodFleet.start(run.registry, POD_COUNT, `${run.baseDir}/pods.log`);
  const headers = Array.from({ length: KEYS }, (_, i) => Object.freeze({ 'x-tenant': `tenant-${i}` }));
  const clients = await openClients(fleet.pods, headers);
  try {
    const runs = new Map<string, LoadResult[]>(clients.map((c) => [c.name, []]));
    for (const c of clients) await runLoad(c.dispatcher, c.target, settings.concurrency, WARM_UP_MS);
    for (let round = 0; round < settings.rounds; round++) {
      for (let i = 0; i < clients.length; i++) {
        const c = clients[(round + i) % clients.length]!;
        const r = await runLoad(c.dispatcher, c.target, settings.concurrency, settings.durationS * 1000);
        run.log(`round ${round + 1}/${settings.rounds} ${c.name}: ${Math.round((r.requests * 1000) / r.elapsedMs)} req/s, ${(r.cpuUs / Math.max(1, r.requests)).toFixed(1)} µs CPU/req, ${r.failed} failed`);
        runs.get(c.name)!.push(r);
      }
    }
    const table = httpTable(clients.map((c): ClientRuns => ({ client: c.name, baseline: c.baseline, goal: c.goal, runs: runs.get(c.name)! })));
    return `${settings.concurrency} requests in flight from one client process, ${POD_COUNT} pods in another; ${settings.rounds} rounds of ${settings.durationS} s per client, medians.\n\n${table}`;
  } finally {
    await Promise.all(clients.map((c) => c.dispatcher.close()));
    await run.registry.stop(fleet.child);
  }
}

async function openClients(pods: readonly PodAddress[], headers: LoadTarget['headers']): Promise<Client[]> {
  const endpoints = pods.map((p) => ({ name: p.name, address: `127.0.0.1:${p.port}` }));
  const logger = pino({ level: 'warn' }, pino.destination(2));
  const service = (options: ServiceOptions): Promise<Dispatcher> => createShardDispatcher({ logger, services: { [SERVICE]: { endpoints, ...options } } });
  const managed = { origin: `http://${SERVICE}`, path: '/', headers };
  const origins = pods.map((p) => `http://127.0.0.1:${p.port}`);
  const direct = { origin: origins[0]!, path: '/', headers };
  const ringHash = { balancer: { algorithm: 'ring-hash' }, key: 'header:x-tenant' } as const;
  return [
    { name: 'undici Pool, one pod', baseline: true, goal: false, dispatcher: new Pool(origins[0]!), target: direct },
    { name: 'undici BalancedPool', baseline: false, goal: false, dispatcher: new BalancedPool(origins), target: direct },
    { name: 'dispatcher, ring-hash, one pod', baseline: false, goal: true, dispatcher: await service({ ...ringHash, endpoints: endpoints.slice(0, 1) }), target: managed },
    { name: 'dispatcher, ring-hash', baseline: false, goal: true, dispatcher: await service(ringHash), target: managed },
    { name: 'dispatcher, p2c', baseline: false, goal: true, dispatcher: await service({ balancer: { algorithm: 'p2c' } }), target: managed },
  ];
}
