/**
 * Maglev hashing (Eisenbud et al., NSDI 2016), weighted as Envoy's maglev_lb.cc does it. Each
 * endpoint walks its own permutation of a prime-sized table (offset and skip from two hashes of its
 * NAME) and endpoints take turns claiming their next free slot; a weight-w endpoint takes w turns
 * for every turn of weight 1 (relative to the largest weight). A key belongs to table[hash mod M].
 *
 * Maglev trades disruption for balance and speed: removing one endpoint moves its own keys plus an
 * extra, because every claim after the first one the set change touches can land elsewhere (one
 * free slot more or less early in the fill cascades through the later turns). Measured by
 * `npm run bench:maglev-sizes`, that extra is a share of the TABLE, nearly independent of the
 * endpoint count, and shrinks slowly with M (about M^-0.6): 0.3% to 0.9% of all keys at
 * M = 65537, 0.06% to 0.2% at 1048573, 0.05% to 0.13% at 2097143. The ideal move is 1/n, so the
 * ratio to it grows with n: one endpoint leaving moves, as a multiple of 1/n,
 *
 *   n          16     24     32     64     100    128    256    512    1000
 *   65537      1.05   1.09   1.12   1.31   1.57   1.74   2.83   5.44   7.07
 *   1048573    1.01   1.02   1.03   1.06   1.11   1.15   1.35   1.84   3.01
 *   2097143    1.01   1.01   1.02   1.04   1.08   1.10   1.23   1.54   2.33
 *
 * Within 1.1x takes M growing about as n^2, so no sane table reaches it at 1,000 endpoints (4M
 * entries give 1.9x and take most of a second to build). Envoy keeps 65537 unless configured and
 * says disruption falls with size, up to its limit 5000011; the paper sizes M above 100 x n for
 * balance, not for disruption. Where keys carry state and sets are large, prefer ring hash or
 * rendezvous, which move only the keys of the endpoint that came or went.
 *
 * Table size: `tableSize` when configured; otherwise from the endpoint count, in two steps so that
 * a set that changes moves keys across a step only, not on every change (any change of M re-maps
 * almost every key): 65537 up to 24 endpoints (within 1.1x up to there, the size before it was
 * sized from the count: such sets keep their owners), 2097143 from 25 (within 1.1x up to about
 * 128). Memory: 2 bytes a slot up to 65,536 endpoints, 4 above: 128 KiB, then 4 MiB (8 MiB above
 * 65,536 endpoints).
 *
 * update(): the fill, M random writes and about M ln M probes of a bitmap: 3 to 5 ms at 65537, 70
 * to 160 ms of CPU at 2097143 (most of it the writes, which miss the cache), on every set change;
 * pick: one multiplication and one array read, O(1). Beyond the owner, a key's preference order is a
 * sequence of slots probed by a per-key hash.
 */
import { ConfigError } from '../errors.js';
import type { NoPickReason } from './balancer.js';
import type { EndpointSet } from './endpoint.js';
import type { RoutingKey } from './hash.js';
import { hash64, mix32 } from './hash.js';
import type { HashCore, HashCoreBuilder } from './hashing-balancer.js';

export function isPrime(n: number): boolean {
  if (!Number.isInteger(n) || n < 2) return false;
  if (n % 2 === 0) return n === 2;
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false;
  return true;
}

/**
 * The largest table: the largest prime below 2^21, so that slotOf stays exact (and Envoy's limit,
 * 5000011, is not needed: past this size a table costs more to build than it saves in movement).
 */
export const MAX_TABLE_SIZE = 2_097_143;
/** The table size of up to SMALL_SET_LIMIT endpoints, and of every set before sizes followed the count. */
export const SMALL_TABLE_SIZE = 65_537;
/** The largest endpoint count that SMALL_TABLE_SIZE keeps within 1.1x the ideal movement. */
export const SMALL_SET_LIMIT = 24;

/**
 * The table size of a set of `n` endpoints when none is configured. Two steps only: crossing a
 * step re-maps almost every key, so the size changes when a set grows past SMALL_SET_LIMIT (or
 * shrinks back), not on every change.
 */
export function maglevTableSize(n: number): number {
  return n <= SMALL_SET_LIMIT ? SMALL_TABLE_SIZE : MAX_TABLE_SIZE;
}

/**
 * A 32-bit hash scaled onto [0, m) by multiplication (Lemire's fastrange): exact in doubles for
 * m < 2^21, and several times cheaper than a floating-point modulo of the 64-bit hash.
 */
function slotOf(h: number, m: number): number {
  return Math.floor((h * m) / 4294967296);
}

export class Maglev implements HashCoreBuilder {
  readonly algorithm = 'maglev';
  readonly strictOwner = false;
  /** The configured size, or null to size the table from each set's endpoint count (maglevTableSize). */
  readonly tableSize: number | null;

  constructor(tableSize: number | null) {
    if (tableSize !== null && (!isPrime(tableSize) || tableSize > MAX_TABLE_SIZE)) {
      throw new ConfigError(
        'SG_ERR_BALANCER',
        'balancer.tableSize',
        `is ${String(tableSize)}: the maglev table size must be a prime up to ${MAX_TABLE_SIZE}, or null to size it from the endpoint count (the default); ${SMALL_TABLE_SIZE} keeps the mapping of earlier versions`,
      );
    }
    this.tableSize = tableSize;
  }

  build(set: EndpointSet): MaglevTable {
    const eps = set.endpoints;
    const n = eps.length;
    const m = this.tableSize ?? maglevTableSize(n);
    if (n > m) {
      throw new ConfigError('SG_ERR_BALANCER', 'balancer.tableSize', `is ${m} but there are ${n} endpoints: choose a prime of at least 100 x endpoints, or null to size it from the endpoint count`);
    }
    // Each endpoint's permutation is offset + j x skip (mod m), walked by adding skip: the same
    // slots in the same order as the paper's formula, without a multiplication and a modulo of
    // doubles per probe. m < 2^21, so every value here is a small integer.
    const pos = new Int32Array(n);
    const skip = new Int32Array(n);
    const weight = new Float64Array(n);
    let maxWeight = 0;
    for (let i = 0; i < n; i++) {
      const h = hash64(eps[i]!.name);
      const h2 = hash64(eps[i]!.name, 0x9e3779b97f4a7c15n);
      pos[i] = Number(h % BigInt(m));
      skip[i] = Number(h2 % BigInt(m - 1)) + 1;
      weight[i] = eps[i]!.weight;
      if (eps[i]!.weight > maxWeight) maxWeight = eps[i]!.weight;
    }
    const table = n < 65536 ? new Uint16Array(m) : new Uint32Array(m);
    // Which slots are taken, one bit each: the probes of the fill read this (a 32nd of the table's
    // bytes, so it stays in cache) rather than the table. Most of the build is these probes.
    const taken = new Int32Array((m + 31) >>> 5);
    const target = new Float64Array(n);
    const counts = new Array<number>(n).fill(0);
    let filled = 0;
    for (let iteration = 1; filled < m; iteration++) {
      for (let i = 0; i < n && filled < m; i++) {
        // Envoy's weighting: endpoint i takes a turn when iteration x weight has reached its target.
        if (iteration * weight[i]! < target[i]!) continue;
        target[i]! += maxWeight;
        const step = skip[i]!;
        let slot = pos[i]!;
        while (((taken[slot >>> 5]! >>> (slot & 31)) & 1) !== 0) {
          slot += step;
          if (slot >= m) slot -= m;
        }
        taken[slot >>> 5]! |= 1 << (slot & 31);
        table[slot] = i;
        slot += step;
        pos[i] = slot >= m ? slot - m : slot;
        counts[i]!++;
        filled++;
      }
    }
    return new MaglevTable(table, counts);
  }
}

export class MaglevTable implements HashCore {
  readonly missReason: NoPickReason = 'empty';
  readonly table: Uint16Array | Uint32Array;
  /** Slots per endpoint, by index: a table-quality gauge. */
  readonly slotCounts: readonly number[];
  #hi = 0;
  #lo = 0;
  #attempt = 0;

  constructor(table: Uint16Array | Uint32Array, slotCounts: readonly number[]) {
    this.table = table;
    this.slotCounts = slotCounts;
  }

  first(key: RoutingKey): number {
    this.#hi = key.hi;
    this.#lo = key.lo;
    this.#attempt = 0;
    return this.table[slotOf(key.lo, this.table.length)]!;
  }

  next(): number {
    const a = ++this.#attempt;
    return this.table[slotOf(mix32(this.#lo ^ this.#hi, a), this.table.length)]!;
  }

  get bytes(): number {
    return this.table.byteLength;
  }
}
