/**
 * The keyed side of every hashing algorithm. A hash core (ring hash, maglev, rendezvous, jump,
 * ordinal, key ranges, lookup tables) only answers "which endpoint is this key's k-th choice"; this wrapper adds
 * what they all share, once: skipping endpoints out of rotation (draining, ejected, failing health
 * checks) and excluded ones, the in-flight limit, bounded loads, the keyless fallback, and a bound
 * on probing (HAProxy's guard "against accidental loop").
 *
 * An owner at its in-flight limit or its load bound is full: the key walks on along its own
 * preference order, so a hot key spills to the same next owners every time and no endpoint goes
 * above its limit. That holds for strict owners too (ordinal and ranges with `onMissing: fail`):
 * only an owner out of rotation answers `owner-missing`; a full one spills, as bounded loads
 * always have. When every candidate is full the pick answers `saturated`.
 *
 * Cost: update() builds the core (its own cost) and one stamp array; pick() is the core's lookup
 * plus, only when the owner cannot take the request, one probe per further candidate, at most
 * `maxProbes`, then a linear scan from the owner. No allocation on pick: the core keeps its cursor,
 * and "seen" marks are generation stamps in a preallocated array.
 */
import type { Balancer, Exclusion, NoPick, NoPickReason, Pick, PickResult } from './balancer.js';
import { NO_PICK } from './balancer.js';
import { validateLoadFactor } from './bounded-load.js';
import type { Endpoint, EndpointSet } from './endpoint.js';
import type { RoutingKey } from './hash.js';
import type { LoadBoard } from './load-board.js';
import { noUsable, usable } from './usable.js';

/**
 * A key's preference order over one endpoint set. Single-threaded use: `first` resets the cursor
 * that `next` advances, so the two must not interleave between keys.
 */
export interface HashCore {
  /** The key's owner (index into the set's endpoints), or -1 when it has none. */
  first(key: RoutingKey): number;
  /** The next candidate of the same key, possibly a repeat; -1 when the order is exhausted. */
  next(): number;
  /** Why the last `first` returned -1. */
  readonly missReason: NoPickReason;
  /**
   * False when the last `first` answered from an order that does not hold keys to their owners
   * (a lookup table's hashing default), so that `strictOwner` does not apply to that key. Absent
   * means true.
   */
  readonly pinned?: boolean;
}

export interface HashCoreBuilder {
  readonly algorithm: string;
  /**
   * True when a key must not move while its owner is missing or draining (StatefulSet ordinals and
   * key ranges with `onMissing: fail`): the pick fails with `owner-missing` instead of falling
   * through. Overload (bounded loads) may still spill.
   */
  readonly strictOwner: boolean;
  build(set: EndpointSet): HashCore;
}

export interface HashingOptions {
  /** Bounded loads: the factor c (> 1); absent for plain consistent hashing. */
  readonly loadFactor?: number | null;
  /** Serves requests without a key; absent: they get `no-key`. */
  readonly keyless?: Balancer | null;
}

export interface HashingStats {
  /** Picks that went past an owner that was available but at its in-flight limit or load bound. */
  spills: number;
  /** Picks whose owner was out of rotation, excluded or missing. */
  fallthroughs: number;
}

export class HashingBalancer implements Balancer {
  readonly algorithm: string;
  readonly keyed = true;
  readonly loadFactor: number | null;
  readonly stats: HashingStats = { spills: 0, fallthroughs: 0 };
  readonly #builder: HashCoreBuilder;
  readonly #board: LoadBoard;
  readonly #keyless: Balancer | null;
  #core: HashCore | null = null;
  #set: EndpointSet | null = null;
  #stamps = new Uint32Array(0);
  #generation = 0;
  #maxProbes = 0;

  constructor(builder: HashCoreBuilder, board: LoadBoard, options: HashingOptions = {}) {
    this.algorithm = builder.algorithm;
    this.#builder = builder;
    this.#board = board;
    this.#keyless = options.keyless ?? null;
    this.loadFactor = options.loadFactor == null ? null : validateLoadFactor(options.loadFactor, 'balancer.loadFactor');
  }

  update(set: EndpointSet): void {
    if (set === this.#set) return;
    this.#board.sync(set);
    const n = set.endpoints.length;
    const core = n === 0 ? null : this.#builder.build(set);
    this.#stamps = new Uint32Array(n);
    this.#generation = 0;
    this.#maxProbes = 4 * n + 64;
    this.#core = core;
    this.#set = set;
    this.#keyless?.update(set);
  }

  pick(key: RoutingKey | null, exclude: Exclusion | null): PickResult {
    if (key === null) return this.#keyless === null ? NO_PICK['no-key'] : this.#keyless.pick(null, exclude);
    const core = this.#core;
    if (core === null) return NO_PICK.empty;
    const board = this.#board;
    const loads = board.loads;
    const owner = core.first(key);
    if (owner < 0) return NO_PICK[core.missReason];
    const ownerLoad = loads[owner]!;
    const ownerInRotation = ownerLoad.available && (exclude === null || !exclude.has(ownerLoad.endpoint));
    if (!ownerInRotation && this.#builder.strictOwner && core.pinned !== false) return NO_PICK['owner-missing'];
    const factor = this.loadFactor;
    if (ownerInRotation) {
      const p = board.admit(owner, factor);
      if (p !== null) return p;
      this.stats.spills++;
    } else {
      this.stats.fallthroughs++;
    }

    // Walk the key's own preference order, then, if the core's order ran dry, scan on from the
    // owner. Either way the same key meets the same candidates in the same order.
    const gen = this.#nextGeneration();
    const stamps = this.#stamps;
    stamps[owner] = gen;
    const n = loads.length;
    for (let probe = 0; probe < this.#maxProbes; probe++) {
      const i = core.next();
      if (i < 0) break;
      if (stamps[i] === gen) continue;
      stamps[i] = gen;
      const p = this.#offer(i, exclude, factor);
      if (p !== null) return p;
    }
    for (let step = 1; step < n; step++) {
      const i = (owner + step) % n;
      if (stamps[i] === gen) continue;
      const p = this.#offer(i, exclude, factor);
      if (p !== null) return p;
    }
    // Nothing has room below the bound: only possible when candidates are excluded, out of
    // rotation or at their limit (the bounds of the available endpoints always sum above the
    // total), or, with counts shared between threads, filled by other threads meanwhile. Prefer
    // serving over refusing: the least loaded usable candidate in preference order takes it.
    if (factor !== null) {
      for (let attempt = 0; attempt < n; attempt++) {
        let best = -1;
        for (let step = 0; step < n; step++) {
          const i = (owner + step) % n;
          const l = loads[i]!;
          if (usable(l, exclude) && (best < 0 || l.inflight < loads[best]!.inflight)) best = i;
        }
        if (best < 0) break;
        const p = board.claim(best);
        if (p !== null) return p;
      }
    }
    return noUsable(loads, exclude);
  }

  /** The endpoint that owns `key` regardless of load and health: what the lookup API answers. */
  owner(key: RoutingKey): Endpoint | null {
    const core = this.#core;
    if (core === null || this.#set === null) return null;
    const i = core.first(key);
    return i < 0 ? null : this.#set.endpoints[i]!;
  }

  /**
   * Where a pick sends `key` when no endpoint is at its in-flight limit or load bound and the only
   * endpoints out of rotation are the set's draining ones: the key's home, decided by the set
   * alone, so every proxy, client and directory over the same set names the same one. Ejections
   * and failed health checks (each proxy's own view) and spills (live load) are not considered.
   * Pure: it claims nothing on the board and has no `done`, so asking is not a request.
   * A NoPick as pick's (`empty`, `owner-missing`, `no-range`, `all-unavailable`).
   */
  home(key: RoutingKey): Endpoint | NoPick {
    const core = this.#core;
    const set = this.#set;
    if (core === null || set === null) return NO_PICK.empty;
    const eps = set.endpoints;
    const owner = core.first(key);
    if (owner < 0) return NO_PICK[core.missReason];
    if (!eps[owner]!.draining) return eps[owner]!;
    if (this.#builder.strictOwner && core.pinned !== false) return NO_PICK['owner-missing'];
    // The same walk as pick's: the core's order, then on from the owner.
    const gen = this.#nextGeneration();
    const stamps = this.#stamps;
    stamps[owner] = gen;
    for (let probe = 0; probe < this.#maxProbes; probe++) {
      const i = core.next();
      if (i < 0) break;
      if (stamps[i] === gen) continue;
      stamps[i] = gen;
      if (!eps[i]!.draining) return eps[i]!;
    }
    const n = eps.length;
    for (let step = 1; step < n; step++) {
      const i = (owner + step) % n;
      if (stamps[i] !== gen && !eps[i]!.draining) return eps[i]!;
    }
    return NO_PICK['all-unavailable'];
  }

  /** The first `count` distinct endpoints of the key's preference order (allocates: not for picks). */
  preference(key: RoutingKey, count: number): Endpoint[] {
    const core = this.#core;
    const set = this.#set;
    if (core === null || set === null) return [];
    const out: Endpoint[] = [];
    const seen = new Set<number>();
    const n = set.endpoints.length;
    const push = (i: number): void => {
      if (i >= 0 && !seen.has(i) && out.length < count) {
        seen.add(i);
        out.push(set.endpoints[i]!);
      }
    };
    const owner = core.first(key);
    if (owner < 0) return out;
    push(owner);
    for (let probe = 0; probe < this.#maxProbes && out.length < count; probe++) {
      const i = core.next();
      if (i < 0) break;
      push(i);
    }
    for (let step = 1; step < n && out.length < count; step++) push((owner + step) % n);
    return out;
  }

  /** A fresh "seen" stamp for one walk; the stamps are cleared once every 2^32 - 1 walks. */
  #nextGeneration(): number {
    let gen = ++this.#generation;
    if (gen === 0xffffffff) {
      this.#stamps.fill(0);
      this.#generation = gen = 1;
    }
    return gen;
  }

  /**
   * Starts the request at candidate `i` if it is in rotation, not excluded, below its in-flight
   * limit and, with bounded loads, within its bound once it takes it (the board's admit()).
   */
  #offer(i: number, exclude: Exclusion | null, factor: number | null): Pick | null {
    const board = this.#board;
    const l = board.loads[i]!;
    return l.available && (exclude === null || !exclude.has(l.endpoint)) ? board.admit(i, factor) : null;
  }
}
