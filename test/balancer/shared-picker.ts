/**
 * A worker thread for shared-loads.test.ts: builds a balancer over the shared cells (or over a board
 * of its own, for contrast), waits for the start signal, then picks as fast as it can while holding
 * up to `hold` requests, as a proxy thread holds requests in flight. Every request it holds is also
 * counted in `observed` (per endpoint: now, then peak), which plays the pods: it sees the process's
 * real concurrency, whatever the boards believe. At the end it holds its last requests until every
 * thread does, so the test can read the process's state at one moment, then ends them all.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { Pick } from '../../src/balancer/balancer.js';
import { ManualClock } from '../../src/balancer/clock.js';
import { createEndpointSet } from '../../src/balancer/endpoint.js';
import type { BalancerConfig } from '../../src/balancer/factory.js';
import { createBalancer } from '../../src/balancer/factory.js';
import { hashKey } from '../../src/balancer/hash.js';
import { LoadBoard } from '../../src/balancer/load-board.js';
import { seededRng } from '../../src/balancer/rng.js';
import { SharedLoads } from '../../src/balancer/shared-loads.js';
import { SubsetRouter } from '../../src/balancer/subsets.js';

export interface PickerData {
  /** The shared cells, or null for a board of this thread's own. */
  readonly buffer: SharedArrayBuffer | null;
  readonly slots: readonly number[];
  readonly names: readonly string[];
  readonly weights: readonly number[];
  readonly config: BalancerConfig;
  readonly maxInflight: number;
  readonly picks: number;
  readonly hold: number;
  /** One key for every pick, or null for keyless picks. */
  readonly key: string | null;
  readonly seed: number;
  /** Int32 cells: CONTROL_GO (0 until the test starts the threads), CONTROL_RELEASE (0 until they may end their last requests). */
  readonly control: SharedArrayBuffer;
  /** Int32 cells: held now per endpoint, then the peak per endpoint. */
  readonly observed: SharedArrayBuffer;
  /** Each endpoint's `version` label, for picking in a subset (subsets.ts); absent: no labels. */
  readonly versions?: readonly string[];
  /** The version this thread's requests ask for (header x-version), or null for every endpoint. */
  readonly subset?: string | null;
}

export interface PickerResult {
  /** Picks per endpoint, by set index. */
  readonly counts: number[];
  /** Picks that found no endpoint. */
  readonly none: number;
}

export const CONTROL_GO = 0;
export const CONTROL_RELEASE = 1;

function main(data: PickerData): void {
  const port = parentPort!;
  const set = createEndpointSet(
    data.names.map((name, i) => ({ name, address: `10.0.0.${i}:80`, weight: data.weights[i]!, ...(data.versions === undefined ? {} : { labels: { version: data.versions[i]! } }) })),
    1,
  );
  const shared = data.buffer === null ? null : new SharedLoads(data.buffer);
  shared?.setSlots(data.names, data.slots);
  const board = new LoadBoard(new ManualClock(), { maxInflight: data.maxInflight, shared });
  const rng = seededRng(data.seed);
  const all = createBalancer(data.config, { clock: board.clock, rng, board });
  all.update(set);
  // With versions, every thread builds the same subsets, as every worker does from one config.
  let balancer = all;
  if (data.versions !== undefined) {
    const router = new SubsetRouter({ selectors: [{ header: 'x-version', label: 'version' }], fallback: 'fail', defaultSubset: null, maxSubsets: 8 }, board, (b) => createBalancer(data.config, { clock: board.clock, rng, board: b }), all);
    router.update(set);
    balancer = router.select([data.subset ?? undefined])!;
  }
  const key = data.key === null ? null : hashKey(data.key);
  const control = new Int32Array(data.control);
  const observed = new Int32Array(data.observed);
  const n = set.endpoints.length;
  const counts = new Array<number>(n).fill(0);
  let none = 0;
  const held: Pick[] = [];

  const end = (p: Pick): void => {
    // The pod sees the request end before the balancer does.
    Atomics.sub(observed, p.endpoint.index, 1);
    p.done(0, 'ok');
  };

  port.postMessage('ready');
  Atomics.wait(control, CONTROL_GO, 0);
  for (let i = 0; i < data.picks; i++) {
    if (held.length > 0 && held.length >= data.hold) end(held.shift()!);
    const r = balancer.pick(key, null);
    if (r.kind === 'none') {
      none++;
      continue;
    }
    const at = r.endpoint.index;
    counts[at]!++;
    const now = Atomics.add(observed, at, 1) + 1;
    let peak = Atomics.load(observed, n + at);
    while (now > peak) {
      const was = Atomics.compareExchange(observed, n + at, peak, now);
      if (was === peak) break;
      peak = was;
    }
    if (data.hold === 0) end(r);
    else held.push(r);
  }
  port.postMessage('holding');
  Atomics.wait(control, CONTROL_RELEASE, 0);
  for (const p of held) end(p);
  const result: PickerResult = { counts, none };
  port.postMessage(result);
}

// The test imports this module for its types and constants; only a worker thread runs it.
if (!isMainThread) main(workerData as PickerData);
