/**
 * Ring hash (Karger et al., 1997; as Envoy's ring_hash and HAProxy's `hash-type consistent`).
 * Every endpoint places virtual nodes on a 32-bit ring in proportion to its weight; a key belongs
 * to the first node at or after its hash, and its preference order continues clockwise.
 *
 * Virtual nodes are placed by the endpoint's NAME (`${name}_${i}`), never its address, so a pod
 * that restarts with a new IP keeps its keys. Ring size: 400 nodes per unit of weight (ketama uses 160; more nodes, better balance),
 * so an endpoint's nodes depend on its own weight alone and a membership change moves only the
 * keys of the endpoint that came or went. Envoy's knobs are kept: `minRingSize` raises and
 * `maxRingSize` caps the total, rescaling every endpoint's share; a rescale happens whenever the
 * total weight crosses them and then moves extra keys, so the default minimum is 0 (never) and
 * the default maximum 8M (Envoy's). update(): O(R log R) for R nodes; pick: an index lookup and a
 * search of one bucket, O(1) expected; memory: about 12 bytes a node.
 */
import { ConfigError } from '../errors.js';
import type { NoPickReason } from './balancer.js';
import type { EndpointSet } from './endpoint.js';
import type { RoutingKey } from './hash.js';
import { hash32 } from './hash.js';
import type { HashCore, HashCoreBuilder } from './hashing-balancer.js';

export const NODES_PER_WEIGHT = 400;
/** Node records pack (position, endpoint index) into one float64 for a fast typed-array sort. */
const INDEX_BITS = 2 ** 21;

export class RingHash implements HashCoreBuilder {
  readonly algorithm = 'ring-hash';
  readonly strictOwner = false;
  readonly minRingSize: number;
  readonly maxRingSize: number;

  constructor(minRingSize: number, maxRingSize: number) {
    for (const [field, v] of [['minRingSize', minRingSize], ['maxRingSize', maxRingSize]] as const) {
      if (!Number.isInteger(v) || v < 0 || v > 8_388_608) {
        throw new ConfigError('SG_ERR_BALANCER', `balancer.${field}`, `is ${String(v)}: use an integer from 0 to 8388608`);
      }
    }
    if (minRingSize > maxRingSize) {
      throw new ConfigError('SG_ERR_BALANCER', 'balancer.minRingSize', `(${minRingSize}) is above balancer.maxRingSize (${maxRingSize}): raise the maximum or lower the minimum`);
    }
    this.minRingSize = minRingSize;
    this.maxRingSize = maxRingSize;
  }

  build(set: EndpointSet): RingTable {
    const eps = set.endpoints;
    const target = Math.max(1, Math.min(Math.max(NODES_PER_WEIGHT * set.totalWeight, this.minRingSize), this.maxRingSize));
    const counts = eps.map((e) => Math.max(1, Math.round((target * e.weight) / set.totalWeight)));
    const total = counts.reduce((a, b) => a + b, 0);
    const packed = new Float64Array(total);
    let k = 0;
    eps.forEach((e, i) => {
      for (let v = 0; v < counts[i]!; v++) packed[k++] = hash32(`${e.name}_${v}`) * INDEX_BITS + i;
    });
    // Ties on a position go to the endpoint first by name, so the ring never depends on input order.
    packed.sort();
    const positions = new Uint32Array(total);
    const owners = new Uint32Array(total);
    for (let j = 0; j < total; j++) {
      const p = packed[j]!;
      const idx = p % INDEX_BITS;
      owners[j] = idx;
      positions[j] = (p - idx) / INDEX_BITS;
    }
    return new RingTable(positions, owners, counts);
  }
}

export class RingTable implements HashCore {
  readonly missReason: NoPickReason = 'empty';
  readonly positions: Uint32Array;
  readonly owners: Uint32Array;
  /** Virtual nodes per endpoint, by index: a table-quality gauge. */
  readonly nodeCounts: readonly number[];
  /**
   * About one bucket per node over the top bits of the ring: bucket b starts at the first node at or
   * after b << shift, so a lookup searches only its bucket's few nodes instead of the whole ring
   * (a binary search over 400k nodes misses the cache on most of its 19 steps).
   */
  readonly #index: Uint32Array;
  readonly #shift: number;
  #cursor = 0;
  #steps = 0;

  constructor(positions: Uint32Array, owners: Uint32Array, nodeCounts: readonly number[]) {
    this.positions = positions;
    this.owners = owners;
    this.nodeCounts = nodeCounts;
    const bits = Math.min(20, Math.max(4, Math.ceil(Math.log2(positions.length + 1))));
    this.#shift = 32 - bits;
    const buckets = 2 ** bits;
    const index = new Uint32Array(buckets + 1);
    let j = 0;
    for (let b = 0; b <= buckets; b++) {
      const start = b * 2 ** this.#shift;
      while (j < positions.length && positions[j]! < start) j++;
      index[b] = j;
    }
    this.#index = index;
  }

  first(key: RoutingKey): number {
    const pos = this.positions;
    const h = key.hi;
    const b = h >>> this.#shift;
    let lo = this.#index[b]!;
    let hi = this.#index[b + 1]!;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (pos[mid]! < h) lo = mid + 1;
      else hi = mid;
    }
    this.#cursor = lo === pos.length ? 0 : lo;
    this.#steps = 0;
    return this.owners[this.#cursor]!;
  }

  next(): number {
    const len = this.owners.length;
    if (++this.#steps >= len) return -1;
    this.#cursor = this.#cursor + 1 === len ? 0 : this.#cursor + 1;
    return this.owners[this.#cursor]!;
  }

  get bytes(): number {
    return this.positions.byteLength + this.owners.byteLength + this.#index.byteLength;
  }
}
