/**
 * Maglev hashing (Eisenbud et al., NSDI 2016), weighted as Envoy's maglev_lb.cc does it. Each
 * endpoint walks its own permutation of a prime-sized table (offset and skip from two hashes of its
 * NAME) and endpoints take turns claiming their next free slot; a weight-w endpoint takes w turns
 * for every turn of weight 1 (relative to the largest weight). A key belongs to table[hash mod M].
 *
 * Maglev trades disruption for balance and speed: removing one endpoint moves its own keys plus an
 * extra that shrinks as M / n grows (the paper's trade-off). Measured here, one endpoint leaving:
 * n = 100: 1.55x the ideal 1/n at M = 65537, 1.24x at 262147, 1.11x at 1048573;
 * n = 1000: 7.2x at 65537 (0.7% of all keys instead of 0.1%), 2.9x at 1048573.
 * Where keys carry state and sets are large, prefer ring hash or rendezvous, which move only the
 * keys of the endpoint that came or went.
 * update(): O(M log M)-ish fill; pick: one modulo and one array read, O(1); memory: M entries.
 * Beyond the owner, a key's preference order is a sequence of slots probed by a per-key hash.
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

const MAX_TABLE_SIZE = 2_000_003;

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
  readonly tableSize: number;

  constructor(tableSize: number) {
    if (!isPrime(tableSize) || tableSize > MAX_TABLE_SIZE) {
      throw new ConfigError('SG_ERR_BALANCER', 'balancer.tableSize', `is ${String(tableSize)}: the maglev table size must be a prime up to ${MAX_TABLE_SIZE}; the default is 65537 (another: 131071)`);
    }
    this.tableSize = tableSize;
  }

  build(set: EndpointSet): MaglevTable {
    const m = this.tableSize;
    const eps = set.endpoints;
    const n = eps.length;
    if (n > m) {
      throw new ConfigError('SG_ERR_BALANCER', 'balancer.tableSize', `is ${m} but there are ${n} endpoints: choose a prime of at least 100 x endpoints`);
    }
    const offset = new Float64Array(n);
    const skip = new Float64Array(n);
    const nextJ = new Float64Array(n);
    const weight = new Float64Array(n);
    let maxWeight = 0;
    for (let i = 0; i < n; i++) {
      const h = hash64(eps[i]!.name);
      const h2 = hash64(eps[i]!.name, 0x9e3779b97f4a7c15n);
      offset[i] = Number(h % BigInt(m));
      skip[i] = Number(h2 % BigInt(m - 1)) + 1;
      weight[i] = eps[i]!.weight;
      if (eps[i]!.weight > maxWeight) maxWeight = eps[i]!.weight;
    }
    const table = n < 65536 ? new Uint16Array(m).fill(0xffff) : new Uint32Array(m).fill(0xffffffff);
    const empty = n < 65536 ? 0xffff : 0xffffffff;
    const target = new Float64Array(n);
    const counts = new Array<number>(n).fill(0);
    let filled = 0;
    for (let iteration = 1; filled < m; iteration++) {
      for (let i = 0; i < n && filled < m; i++) {
        // Envoy's weighting: endpoint i takes a turn when iteration x weight has reached its target.
        if (iteration * weight[i]! < target[i]!) continue;
        target[i]! += maxWeight;
        let slot = (offset[i]! + nextJ[i]! * skip[i]!) % m;
        while (table[slot] !== empty) {
          nextJ[i]!++;
          slot = (offset[i]! + nextJ[i]! * skip[i]!) % m;
        }
        table[slot] = i;
        nextJ[i]!++;
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
