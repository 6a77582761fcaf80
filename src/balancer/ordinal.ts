/**
 * StatefulSet ordinal sharding: key mod N goes to the pod whose NAME ends in `-<ordinal>`. The
 * ordinal is parsed from the name (`sharded-svc-2` -> 2), never taken from a list position, and N
 * is the number of ordinals (the configured replica count, or the highest ordinal seen + 1), not the
 * number of ready pods: one pod down does not remap everyone else's keys. Without `replicas`, the
 * HIGHEST ordinal leaving the set does shrink N and remaps most keys, exactly as a scale-down
 * would; set `replicas` wherever pods can be absent while the StatefulSet keeps its size.
 *
 * A decimal key is used as a number (`12345` mod N, digit by digit for keys of any length); any
 * other key is hashed first (xxHash64 mod N). While the owner is missing or draining, `onMissing`
 * decides: `fail` (the default: the request gets 503 and no state is touched on the wrong pod) or
 * `next` (the next present ordinal serves it). Bounded loads may spill a hot key to the next
 * ordinals either way.
 *
 * Names without an ordinal suffix, ordinals at or above a configured replica count (or at or above
 * MAX_REPLICAS), and later duplicates of an ordinal (in name order) are ignored; `ignored` lists
 * them for diagnostics.
 * pick: O(digits) or O(1); update(): O(n).
 */
import { ConfigError } from '../errors.js';
import type { NoPickReason } from './balancer.js';
import type { EndpointSet } from './endpoint.js';
import type { OnMissing } from './factory.js';
import type { RoutingKey } from './hash.js';
import { hashMod } from './hash.js';
import type { HashCore, HashCoreBuilder } from './hashing-balancer.js';

const ORDINAL = /-(\d{1,9})$/;
/** The most ordinals a table holds, configured or inferred: one stray `x-999999999` must not size it. */
export const MAX_REPLICAS = 1_000_000;

/** The StatefulSet ordinal at the end of a pod name, or -1. */
export function parseOrdinal(name: string): number {
  const m = ORDINAL.exec(name);
  return m === null ? -1 : Number(m[1]);
}

export class Ordinal implements HashCoreBuilder {
  readonly algorithm = 'ordinal';
  readonly strictOwner: boolean;
  readonly replicas: number | null;
  readonly onMissing: OnMissing;

  constructor(replicas: number | null, onMissing: OnMissing) {
    if (replicas !== null && (!Number.isInteger(replicas) || replicas < 1 || replicas > MAX_REPLICAS)) {
      throw new ConfigError('SG_ERR_BALANCER', 'balancer.replicas', `is ${String(replicas)}: give the StatefulSet's replica count, an integer from 1 to 1000000 (or leave it out to use the highest ordinal seen + 1)`);
    }
    this.replicas = replicas;
    this.onMissing = onMissing;
    this.strictOwner = onMissing === 'fail';
  }

  build(set: EndpointSet): OrdinalTable {
    let highest = -1;
    for (const e of set.endpoints) {
      const o = parseOrdinal(e.name);
      if (o < MAX_REPLICAS && o > highest) highest = o;
    }
    const n = this.replicas ?? highest + 1;
    const slots = new Int32Array(Math.max(n, 1)).fill(-1);
    const ignored: string[] = [];
    for (const e of set.endpoints) {
      const o = parseOrdinal(e.name);
      if (o < 0 || o >= n || slots[o] !== -1) ignored.push(e.name);
      else slots[o] = e.index;
    }
    return new OrdinalTable(n === 0 ? new Int32Array(0) : slots, this.onMissing, ignored);
  }
}

export class OrdinalTable implements HashCore {
  missReason: NoPickReason = 'owner-missing';
  /** Endpoint index by ordinal, -1 where that pod is missing. */
  readonly slots: Int32Array;
  readonly ignored: readonly string[];
  readonly #onMissing: OnMissing;
  #cursor = 0;
  #steps = 0;

  constructor(slots: Int32Array, onMissing: OnMissing, ignored: readonly string[]) {
    this.slots = slots;
    this.#onMissing = onMissing;
    this.ignored = ignored;
  }

  /** The ordinal that owns `key`: the key itself mod N when decimal, else its hash mod N. */
  ordinalOf(key: RoutingKey): number {
    const n = this.slots.length;
    if (key.numeric >= 0) return key.numeric % n;
    const t = key.text;
    let r = 0;
    for (let i = 0; i < t.length; i++) {
      const d = t.charCodeAt(i) - 48;
      if (d < 0 || d > 9) return hashMod(key.hi, key.lo, n);
      r = (r * 10 + d) % n;
    }
    return t.length === 0 ? hashMod(key.hi, key.lo, n) : r;
  }

  first(key: RoutingKey): number {
    const n = this.slots.length;
    if (n === 0) {
      this.missReason = 'empty';
      return -1;
    }
    this.missReason = 'owner-missing';
    this.#cursor = this.ordinalOf(key);
    this.#steps = 0;
    const owner = this.slots[this.#cursor]!;
    return owner >= 0 || this.#onMissing === 'fail' ? owner : this.next();
  }

  next(): number {
    const slots = this.slots;
    const n = slots.length;
    while (++this.#steps < n) {
      this.#cursor = this.#cursor + 1 === n ? 0 : this.#cursor + 1;
      const i = slots[this.#cursor]!;
      if (i >= 0) return i;
    }
    return -1;
  }
}
