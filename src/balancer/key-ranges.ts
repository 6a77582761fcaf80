/**
 * Key ranges: explicit, inclusive ranges of a numeric key space, each owned by one endpoint by
 * name (accounts 0-999 to `sharded-svc-0`, 1000-1999 to `sharded-svc-1`), as Gojek's Weaver and
 * range-sharded stores assign them. A key that is not a decimal number, or that no range holds,
 * gets `no-range`. While a range's endpoint is missing or draining, `onMissing` decides: `fail`
 * (503) or `next` (the endpoint of the next range in order). Bounded loads spill the same way.
 *
 * pick: one binary search over range starts, O(log r); update(): O(r).
 */
import { ConfigError } from '../errors.js';
import type { NoPickReason } from './balancer.js';
import type { EndpointSet } from './endpoint.js';
import type { OnMissing } from './factory.js';
import type { RoutingKey } from './hash.js';
import type { HashCore, HashCoreBuilder } from './hashing-balancer.js';

export interface KeyRange {
  /** First key of the range (inclusive). */
  readonly from: number;
  /** Last key of the range (inclusive). */
  readonly to: number;
  /** The endpoint NAME that owns the range. */
  readonly endpoint: string;
}

export class KeyRanges implements HashCoreBuilder {
  readonly algorithm = 'ranges';
  readonly strictOwner: boolean;
  readonly ranges: readonly KeyRange[];
  readonly #onMissing: OnMissing;

  constructor(ranges: readonly KeyRange[], onMissing: OnMissing, field = 'balancer.ranges') {
    if (ranges.length === 0) {
      throw new ConfigError('SG_ERR_BALANCER', field, 'is empty: the ranges balancer needs at least one range, for example {from: 0, to: 999, endpoint: sharded-svc-0}');
    }
    const sorted = [...ranges].sort((a, b) => a.from - b.from);
    sorted.forEach((r, i) => {
      const at = `${field}[${ranges.indexOf(r)}]`;
      if (!Number.isSafeInteger(r.from) || !Number.isSafeInteger(r.to) || r.from < 0 || r.to < r.from) {
        throw new ConfigError('SG_ERR_BALANCER', at, `is ${r.from}-${r.to}: a range needs integers 0 <= from <= to`);
      }
      if (typeof r.endpoint !== 'string' || r.endpoint.length === 0) {
        throw new ConfigError('SG_ERR_BALANCER', `${at}.endpoint`, 'is empty: name the endpoint (pod) that owns the range');
      }
      const prev = sorted[i - 1];
      if (prev !== undefined && r.from <= prev.to) {
        throw new ConfigError('SG_ERR_BALANCER', at, `(${r.from}-${r.to}) overlaps ${prev.from}-${prev.to}: every key must have exactly one owner`);
      }
    });
    this.ranges = sorted;
    this.#onMissing = onMissing;
    this.strictOwner = onMissing === 'fail';
  }

  build(set: EndpointSet): RangeTable {
    const r = this.ranges;
    const from = new Float64Array(r.length);
    const to = new Float64Array(r.length);
    const owner = new Int32Array(r.length);
    r.forEach((range, i) => {
      from[i] = range.from;
      to[i] = range.to;
      owner[i] = set.byName.get(range.endpoint)?.index ?? -1;
    });
    return new RangeTable(from, to, owner, this.#onMissing);
  }
}

export class RangeTable implements HashCore {
  missReason: NoPickReason = 'no-range';
  readonly #from: Float64Array;
  readonly #to: Float64Array;
  readonly #owner: Int32Array;
  readonly #onMissing: OnMissing;
  #cursor = 0;
  #steps = 0;

  constructor(from: Float64Array, to: Float64Array, owner: Int32Array, onMissing: OnMissing) {
    this.#from = from;
    this.#to = to;
    this.#owner = owner;
    this.#onMissing = onMissing;
  }

  first(key: RoutingKey): number {
    const v = key.numeric;
    this.missReason = 'no-range';
    if (v < 0) return -1;
    const from = this.#from;
    let lo = 0;
    let hi = from.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (from[mid]! <= v) lo = mid + 1;
      else hi = mid;
    }
    const r = lo - 1;
    if (r < 0 || v > this.#to[r]!) return -1;
    this.missReason = 'owner-missing';
    this.#cursor = r;
    this.#steps = 0;
    const owner = this.#owner[r]!;
    return owner >= 0 || this.#onMissing === 'fail' ? owner : this.next();
  }

  next(): number {
    const owner = this.#owner;
    const n = owner.length;
    while (++this.#steps < n) {
      this.#cursor = this.#cursor + 1 === n ? 0 : this.#cursor + 1;
      const i = owner[this.#cursor]!;
      if (i >= 0) return i;
    }
    return -1;
  }
}
