/**
 * Builds a balancer from its parsed configuration. The one place that maps algorithm names to
 * implementations: the proxy, the client library and the lookup API all come through here, so for
 * the same configuration they build the same key owners.
 */
import { ConfigError } from '../errors.js';
import type { Balancer } from './balancer.js';
import type { Clock } from './clock.js';
import { HashingBalancer } from './hashing-balancer.js';
import type { HashCoreBuilder } from './hashing-balancer.js';
import { JumpHash } from './jump.js';
import type { KeyRange } from './key-ranges.js';
import { KeyRanges } from './key-ranges.js';
import { LeastRequestBalancer } from './least-request.js';
import { DEFAULT_MAX_INFLIGHT, LoadBoard } from './load-board.js';
import type { LookupDefault, LookupEntry } from './lookup.js';
import { Lookup } from './lookup.js';
import { Maglev } from './maglev.js';
import { Ordinal } from './ordinal.js';
import { RandomBalancer } from './random.js';
import { Rendezvous } from './rendezvous.js';
import { RingHash } from './ring-hash.js';
import { SeatRendezvous } from './seat-rendezvous.js';
import type { Rng } from './rng.js';
import { RoundRobinBalancer } from './round-robin.js';
import { TwoChoicesBalancer, inflightCost, peakEwmaCost } from './two-choices.js';
import type { ZonePreference } from './zone-aware.js';
import { ZoneAwareBalancer } from './zone-aware.js';

export const KEYLESS_ALGORITHMS = ['random', 'round-robin', 'least-request', 'p2c', 'peak-ewma'] as const;
export const KEYED_ALGORITHMS = ['ring-hash', 'maglev', 'rendezvous', 'jump', 'ordinal', 'ranges', 'lookup'] as const;
export const ALGORITHMS = [...KEYLESS_ALGORITHMS, ...KEYED_ALGORITHMS] as const;

export type KeylessAlgorithm = (typeof KEYLESS_ALGORITHMS)[number];
export type KeyedAlgorithm = (typeof KEYED_ALGORITHMS)[number];
export type Algorithm = (typeof ALGORITHMS)[number];

/** What an ordinal, range or lookup owner's absence does: refuse (503) or move the key to the next owner. */
export type OnMissing = 'fail' | 'next';

export type KeylessConfig =
  | { readonly algorithm: 'random' | 'round-robin' | 'least-request' | 'p2c' }
  | { readonly algorithm: 'peak-ewma'; readonly decayMs: number; readonly defaultRttMs: number };

interface HashingCommon {
  /** Bounded loads factor c (> 1), or null for plain consistent hashing. */
  readonly loadFactor: number | null;
  /** Serves requests that carry no key. */
  readonly keyless: KeylessConfig;
}

export type KeyedConfig =
  | (HashingCommon & { readonly algorithm: 'ring-hash'; readonly minRingSize: number; readonly maxRingSize: number })
  /** tableSize null: sized from each set's endpoint count (maglev.ts, maglevTableSize). */
  | (HashingCommon & { readonly algorithm: 'maglev'; readonly tableSize: number | null })
  /** table: rendezvous over a table of seats, O(1) picks (seat-rendezvous.ts); false: the O(n) scan. */
  | (HashingCommon & { readonly algorithm: 'rendezvous'; readonly table: boolean })
  | (HashingCommon & { readonly algorithm: 'jump' })
  | (HashingCommon & { readonly algorithm: 'ordinal'; readonly replicas: number | null; readonly onMissing: OnMissing })
  | (HashingCommon & { readonly algorithm: 'ranges'; readonly ranges: readonly KeyRange[]; readonly onMissing: OnMissing })
  | (HashingCommon & { readonly algorithm: 'lookup'; readonly entries: readonly LookupEntry[]; readonly onMissing: OnMissing; readonly default: LookupDefault });

export type BalancerConfig = KeylessConfig | KeyedConfig;

export const DEFAULT_KEYLESS: KeylessConfig = { algorithm: 'p2c' };
export const DEFAULT_PEAK_EWMA = { decayMs: 10_000, defaultRttMs: 10 } as const;
export const DEFAULT_RING = { minRingSize: 0, maxRingSize: 8_388_608 } as const;
/** Null: the table is sized from the endpoint count (maglev.ts). 65537 was the default before. */
export const DEFAULT_MAGLEV_TABLE_SIZE = null;

export interface BalancerDeps {
  readonly clock: Clock;
  readonly rng: Rng;
  /**
   * Shared in-flight and latency state; one is made from the config's peak-EWMA options when
   * absent. A board passed in keeps its own decay and default RTT, and peak-EWMA uses those.
   */
  readonly board?: LoadBoard;
  /** Most requests in flight per endpoint for a board made here (0: no limit); a board passed in keeps its own. */
  readonly maxInflight?: number;
  /**
   * The proxy's zone: requests without a key prefer endpoints in it (zone-aware.ts). Absent or
   * null: no preference. Keyed requests never look at it.
   */
  readonly zone?: ZonePreference | null;
}

/**
 * The config with every default filled in, from just an algorithm name: what `--balancer NAME`
 * means without further options.
 */
export function defaultBalancerConfig(algorithm: Algorithm, loadFactor: number | null = null): BalancerConfig {
  const common = { loadFactor, keyless: DEFAULT_KEYLESS };
  switch (algorithm) {
    case 'random':
    case 'round-robin':
    case 'least-request':
    case 'p2c':
      return { algorithm };
    case 'peak-ewma':
      return { algorithm, ...DEFAULT_PEAK_EWMA };
    case 'ring-hash':
      return { algorithm, ...common, ...DEFAULT_RING };
    case 'maglev':
      return { algorithm, ...common, tableSize: DEFAULT_MAGLEV_TABLE_SIZE };
    case 'rendezvous':
      return { algorithm, ...common, table: false };
    case 'jump':
      return { algorithm, ...common };
    case 'ordinal':
      return { algorithm, ...common, replicas: null, onMissing: 'fail' };
    case 'ranges':
      return { algorithm, ...common, ranges: [], onMissing: 'fail' };
    case 'lookup':
      return { algorithm, ...common, entries: [], onMissing: 'fail', default: 'fail' };
    default: {
      const never: never = algorithm;
      throw new Error(`unknown algorithm ${String(never)}`);
    }
  }
}

export function createBalancer(config: BalancerConfig, deps: BalancerDeps): Balancer {
  // A keyed balancer's peak-EWMA lives in its keyless fallback, and the board keeps the estimates:
  // the board must get those options too, not only the top-level config.
  const keyless = 'keyless' in config ? config.keyless : config;
  if (keyless.algorithm === 'peak-ewma') validatePeakEwma(keyless, 'keyless' in config ? 'balancer.keyless' : 'balancer');
  const ewma = keyless.algorithm === 'peak-ewma' ? { decayMs: keyless.decayMs, defaultRttMs: keyless.defaultRttMs } : {};
  const board = deps.board ?? new LoadBoard(deps.clock, { ...ewma, maxInflight: deps.maxInflight ?? DEFAULT_MAX_INFLIGHT });
  switch (config.algorithm) {
    case 'random':
    case 'round-robin':
    case 'least-request':
    case 'p2c':
    case 'peak-ewma':
      return zoneAware(config, board, deps);
    default:
      return new HashingBalancer(hashCoreBuilder(config), board, {
        loadFactor: config.loadFactor,
        keyless: zoneAware(config.keyless, board, deps),
      });
  }
}

/** The keyless algorithm, preferring the proxy's zone when one is given. */
function zoneAware(config: KeylessConfig, board: LoadBoard, deps: BalancerDeps): Balancer {
  const zone = deps.zone ?? null;
  if (zone === null) return createKeyless(config, board, deps.rng);
  return new ZoneAwareBalancer((b) => createKeyless(config, b, deps.rng), board, deps.rng, zone);
}

function createKeyless(config: KeylessConfig, board: LoadBoard, rng: Rng): Balancer {
  switch (config.algorithm) {
    case 'random':
      return new RandomBalancer(board, rng);
    case 'round-robin':
      return new RoundRobinBalancer(board, rng.nextUint32());
    case 'least-request':
      return new LeastRequestBalancer(board, rng);
    case 'p2c':
      return new TwoChoicesBalancer('p2c', board, rng, inflightCost);
    case 'peak-ewma':
      // The board's decay, not the config's: estimates are blended and read with one time constant
      // even when a shared board was built with other options.
      return new TwoChoicesBalancer('peak-ewma', board, rng, peakEwmaCost(board.decayMs));
    default: {
      const never: never = config;
      throw new Error(`unknown keyless algorithm ${JSON.stringify(never)}`);
    }
  }
}

function validatePeakEwma(config: { readonly decayMs: number; readonly defaultRttMs: number }, at: string): void {
  if (!Number.isFinite(config.decayMs) || config.decayMs <= 0) {
    throw new ConfigError('SG_ERR_BALANCER', `${at}.decayMs`, `is ${String(config.decayMs)}: the peak-EWMA decay time must be a positive number of milliseconds; ${DEFAULT_PEAK_EWMA.decayMs} is Finagle's and Linkerd's default`);
  }
  if (!Number.isFinite(config.defaultRttMs) || config.defaultRttMs < 0) {
    throw new ConfigError('SG_ERR_BALANCER', `${at}.defaultRttMs`, `is ${String(config.defaultRttMs)}: the latency assumed before the first sample must be a number of milliseconds >= 0; the default is ${DEFAULT_PEAK_EWMA.defaultRttMs}`);
  }
}

export function hashCoreBuilder(config: KeyedConfig): HashCoreBuilder {
  switch (config.algorithm) {
    case 'ring-hash':
      return new RingHash(config.minRingSize, config.maxRingSize);
    case 'maglev':
      return new Maglev(config.tableSize);
    case 'rendezvous':
      return config.table ? new SeatRendezvous() : new Rendezvous();
    case 'jump':
      return new JumpHash();
    case 'ordinal':
      return new Ordinal(config.replicas, config.onMissing);
    case 'ranges':
      return new KeyRanges(config.ranges, config.onMissing);
    case 'lookup':
      return new Lookup(config.entries, config.onMissing, config.default === 'fail' ? null : hashCoreBuilder(fallbackOptions(config.default)));
    default: {
      const never: never = config;
      throw new Error(`unknown keyed algorithm ${JSON.stringify(never)}`);
    }
  }
}

/** A lookup table's hashing default, with that algorithm's default options. */
function fallbackOptions(algorithm: Exclude<LookupDefault, 'fail'>): KeyedConfig {
  switch (algorithm) {
    case 'ring-hash':
      return { algorithm, loadFactor: null, keyless: DEFAULT_KEYLESS, ...DEFAULT_RING };
    case 'maglev':
      return { algorithm, loadFactor: null, keyless: DEFAULT_KEYLESS, tableSize: DEFAULT_MAGLEV_TABLE_SIZE };
    case 'rendezvous':
      return { algorithm, loadFactor: null, keyless: DEFAULT_KEYLESS, table: false };
    case 'jump':
      return { algorithm, loadFactor: null, keyless: DEFAULT_KEYLESS };
  }
}
