/**
 * Lookup-table routing, as Gojek's Weaver has it (its `lookup` and `prefix-lookup` sharding): the
 * config maps exact key texts, and key prefixes, to endpoint NAMES (`tenant-42` to
 * `sharded-svc-0`, every key starting `eu-` to `sharded-svc-1`). An exact entry wins over a prefix;
 * among prefixes the longest that starts the key wins.
 *
 * A key with no entry goes where `default` says: `fail` (the pick fails with `no-range`), or a
 * hashing core (ring-hash, maglev, rendezvous, jump, with their default options) that spreads
 * every unlisted key as that algorithm alone would. While an entry's endpoint is missing or
 * draining, `onMissing` decides, as for ordinal and ranges: `fail` (503 `owner-missing`) or `next`
 * (the next endpoint by name after the entry's one, wrapping). Keys that went to the hashing
 * default are not held to their owner: they fall through as plain hashing does.
 *
 * pick: one Map lookup for exact keys; for prefixes a binary search over the sorted prefixes, then
 * a walk up the chain of shorter prefixes of the candidate (O(log p + prefix depth)), comparing
 * with startsWith: nothing is allocated. update(): O(entries) plus the default core's own build.
 */
import { ConfigError } from '../errors.js';
import type { NoPickReason } from './balancer.js';
import type { EndpointSet } from './endpoint.js';
import type { OnMissing } from './factory.js';
import type { RoutingKey } from './hash.js';
import type { HashCore, HashCoreBuilder } from './hashing-balancer.js';

/** One table entry: an exact key text, or a prefix of keys, owned by an endpoint NAME. */
export type LookupEntry = { readonly key: string; readonly endpoint: string } | { readonly prefix: string; readonly endpoint: string };

/** Hashing cores a lookup table can fall back to for keys it does not list. */
export const LOOKUP_FALLBACKS = ['ring-hash', 'maglev', 'rendezvous', 'jump'] as const;
/** Where a key without an entry goes: nowhere (`fail`, `no-range`), or to a hashing core. */
export type LookupDefault = 'fail' | (typeof LOOKUP_FALLBACKS)[number];

export class Lookup implements HashCoreBuilder {
  readonly algorithm = 'lookup';
  readonly strictOwner: boolean;
  readonly entries: readonly LookupEntry[];
  readonly #onMissing: OnMissing;
  readonly #fallback: HashCoreBuilder | null;
  /** Exact key text -> entry index. */
  readonly #exact: ReadonlyMap<string, number>;
  /** Prefixes sorted by code unit, with their entry index and the nearest shorter prefix among them. */
  readonly #prefixes: readonly string[];
  readonly #prefixEntry: Int32Array;
  readonly #parent: Int32Array;

  /**
   * @param fallback the hashing core for keys without an entry; null when `default` is `fail`
   * @throws ConfigError naming the entry (`${field}[i]`) and what is wrong with it
   */
  constructor(entries: readonly LookupEntry[], onMissing: OnMissing, fallback: HashCoreBuilder | null, field = 'balancer.entries') {
    if (entries.length === 0) {
      throw new ConfigError('SG_ERR_BALANCER', field, 'is empty: the lookup balancer needs at least one entry, for example {key: tenant-42, endpoint: sharded-svc-0} or {prefix: "eu-", endpoint: sharded-svc-1}');
    }
    const exact = new Map<string, number>();
    const byPrefix = new Map<string, number>();
    entries.forEach((e, i) => {
      const at = `${field}[${i}]`;
      const hasKey = 'key' in e && e.key !== undefined;
      const hasPrefix = 'prefix' in e && e.prefix !== undefined;
      if (hasKey === hasPrefix) {
        throw new ConfigError('SG_ERR_BALANCER', at, `has ${hasKey ? 'both key and prefix' : 'neither key nor prefix'}: give exactly one, key (the exact key text) or prefix (every key that starts with it)`);
      }
      const text = 'key' in e ? e.key : e.prefix;
      const kind = 'key' in e ? 'key' : 'prefix';
      if (typeof text !== 'string' || text.length === 0) {
        throw new ConfigError('SG_ERR_BALANCER', `${at}.${kind}`, `is ${JSON.stringify(text)}: give a non-empty text${kind === 'prefix' ? ' (keys without an entry go to balancer.default)' : ''}`);
      }
      if (typeof e.endpoint !== 'string' || e.endpoint.length === 0) {
        throw new ConfigError('SG_ERR_BALANCER', `${at}.endpoint`, `is ${JSON.stringify(e.endpoint)}: name the endpoint (pod) that owns the ${kind}`);
      }
      const seen = kind === 'key' ? exact : byPrefix;
      const earlier = seen.get(text);
      if (earlier !== undefined) {
        throw new ConfigError('SG_ERR_BALANCER', `${at}.${kind}`, `is ${JSON.stringify(text)}, as in ${field}[${earlier}]: every ${kind} must have exactly one owner`);
      }
      seen.set(text, i);
    });
    // Sorted by code unit (not locale), the order `<` and startsWith agree on.
    const sorted = [...byPrefix.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const parent = new Int32Array(sorted.length);
    // In sorted order every prefix of a string comes before it, and the strings between the two
    // share that prefix: a stack holds the chain of prefixes of the current one.
    const chain: number[] = [];
    sorted.forEach((p, i) => {
      while (chain.length > 0 && !p.startsWith(sorted[chain[chain.length - 1]!]!)) chain.pop();
      parent[i] = chain.length > 0 ? chain[chain.length - 1]! : -1;
      chain.push(i);
    });
    this.entries = entries;
    this.#onMissing = onMissing;
    this.#fallback = fallback;
    this.strictOwner = onMissing === 'fail';
    this.#exact = exact;
    this.#prefixes = sorted;
    this.#prefixEntry = Int32Array.from(sorted, (p) => byPrefix.get(p)!);
    this.#parent = parent;
  }

  /** The entry that holds `text` (an index into `entries`), or -1. Allocation-free. */
  entryOf(text: string): number {
    const exact = this.#exact.get(text);
    if (exact !== undefined) return exact;
    const prefixes = this.#prefixes;
    let lo = 0;
    let hi = prefixes.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (prefixes[mid]! <= text) lo = mid + 1;
      else hi = mid;
    }
    // The greatest prefix <= text is the longest match or has it on its chain (see the constructor).
    let i = lo - 1;
    while (i >= 0 && !text.startsWith(prefixes[i]!)) i = this.#parent[i]!;
    return i < 0 ? -1 : this.#prefixEntry[i]!;
  }

  build(set: EndpointSet): LookupTable {
    const eps = set.endpoints;
    const owner = new Int32Array(this.entries.length);
    const after = new Int32Array(this.entries.length);
    this.entries.forEach((e, i) => {
      owner[i] = set.byName.get(e.endpoint)?.index ?? -1;
      // The first endpoint whose name sorts after the entry's: where `next` starts when it is missing.
      let lo = 0;
      let hi = eps.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (eps[mid]!.name <= e.endpoint) lo = mid + 1;
        else hi = mid;
      }
      after[i] = lo === eps.length ? 0 : lo;
    });
    return new LookupTable(this, owner, after, eps.length, this.#onMissing, this.#fallback?.build(set) ?? null);
  }
}

export class LookupTable implements HashCore {
  missReason: NoPickReason = 'no-range';
  /** False while the last key went to the hashing default, which does not hold keys to owners. */
  pinned = true;
  readonly #lookup: Lookup;
  /** Endpoint index per entry, -1 where it is missing. */
  readonly #owner: Int32Array;
  readonly #after: Int32Array;
  readonly #onMissing: OnMissing;
  readonly #fallback: HashCore | null;
  readonly #n: number;
  #cursor = 0;
  #steps = 0;

  /** `after`: per entry, the endpoint `next` starts from when the entry's own is missing; `n`: endpoints in the set. */
  constructor(lookup: Lookup, owner: Int32Array, after: Int32Array, n: number, onMissing: OnMissing, fallback: HashCore | null) {
    this.#lookup = lookup;
    this.#owner = owner;
    this.#after = after;
    this.#n = n;
    this.#onMissing = onMissing;
    this.#fallback = fallback;
  }

  first(key: RoutingKey): number {
    const e = this.#lookup.entryOf(key.text);
    if (e < 0) {
      const fallback = this.#fallback;
      if (fallback === null) {
        this.pinned = true;
        this.missReason = 'no-range';
        return -1;
      }
      this.pinned = false;
      const i = fallback.first(key);
      this.missReason = fallback.missReason;
      return i;
    }
    this.pinned = true;
    this.missReason = 'owner-missing';
    this.#steps = 0;
    const owner = this.#owner[e]!;
    if (owner >= 0) {
      this.#cursor = owner;
      return owner;
    }
    if (this.#onMissing === 'fail') return -1;
    this.#cursor = this.#after[e]!;
    return this.#cursor;
  }

  next(): number {
    if (!this.pinned) return this.#fallback!.next();
    if (++this.#steps >= this.#n) return -1;
    this.#cursor = this.#cursor + 1 === this.#n ? 0 : this.#cursor + 1;
    return this.#cursor;
  }
}
