/**
 * Assigns the cells of shared in-flight counts (shared-loads.ts) to endpoint names. One thread owns
 * the table (the one that runs discovery) and sends each set with its slots; every other thread
 * only reads them, so a name means the same cell everywhere.
 *
 * - A name keeps its slot for as long as it stays in the sets, across any number of swaps.
 * - A name that leaves is retired, not freed: requests already picked still end on its cell, and a
 *   thread that has not applied the new set yet may still pick it. A name that comes back while
 *   retired gets its old slot back, with those requests still counted.
 * - A retired slot is reused only once every reader serves a set at least as new as the one that
 *   dropped the name (no thread can start a request on it any more) and its count has drained to
 *   0. That is checked at each assign(), so no timer is involved. The names a set drops retire
 *   as it is assigned, so the set's newcomers need free slots besides theirs.
 *
 * Readers report the generation they serve (`served`): the one they applied, or the previous one if
 * they refused a set. assign() is O(n + retired); nothing here is on the pick path.
 */
import type { EndpointSet } from './endpoint.js';
import { ShardgateError } from '../errors.js';
import type { SharedLoads } from './shared-loads.js';
import { FIRST_SLOT } from './shared-loads.js';

export interface SlotAssignment {
  /** This table's sequence number for the set; readers report it back through `served`. */
  readonly generation: number;
  /** The slot of each endpoint, in the set's order (`set.endpoints[i]` has `slots[i]`). */
  readonly slots: readonly number[];
}

interface Retired {
  readonly slot: number;
  /** The first generation without the name. */
  readonly since: number;
}

export class SlotTable {
  readonly #loads: SharedLoads;
  #generation = 0;
  /** Slots of the names of the latest set. */
  #live = new Map<string, number>();
  #retired = new Map<string, Retired>();
  #free: number[] = [];
  /** The lowest slot never handed out. */
  #fresh = FIRST_SLOT;
  /** The generation each reader serves. */
  readonly #readers = new Map<number, number>();

  constructor(loads: SharedLoads) {
    this.#loads = loads;
  }

  /** The latest generation handed out; 0 before the first set. */
  get generation(): number {
    return this.#generation;
  }

  /** Names removed whose slots are not reusable yet. */
  get retired(): number {
    return this.#retired.size;
  }

  /**
   * Slots for `set`; nothing changes when it throws.
   * @throws ShardgateError SG_ERR_ENDPOINTS when the set needs more new slots than are free
   */
  assign(set: EndpointSet): SlotAssignment {
    this.#reclaim(set);
    let needed = 0;
    for (const ep of set.endpoints) if (!this.#live.has(ep.name) && !this.#retired.has(ep.name)) needed++;
    const room = this.#free.length + this.#unused();
    if (needed > room) {
      throw new ShardgateError(
        'SG_ERR_ENDPOINTS',
        `an endpoint set of ${set.endpoints.length} (version ${set.version}) needs ${needed} new shared slots, but ${room} of ${this.#loads.capacity} are free (${this.#retired.size} still hold requests to removed endpoints): the previous set keeps serving; start with more shared slots`,
      );
    }
    const generation = ++this.#generation;
    for (const [name, slot] of this.#live) {
      if (!set.byName.has(name)) this.#retired.set(name, { slot, since: generation });
    }
    const live = new Map<string, number>();
    const slots: number[] = [];
    for (const ep of set.endpoints) {
      let slot = this.#live.get(ep.name);
      if (slot === undefined) {
        const back = this.#retired.get(ep.name);
        if (back !== undefined) {
          this.#retired.delete(ep.name);
          slot = back.slot;
        } else {
          slot = this.#free.pop() ?? this.#fresh++;
        }
      }
      live.set(ep.name, slot);
      slots.push(slot);
    }
    this.#live = live;
    return { generation, slots };
  }

  /** `reader` now serves the set of `generation` (or still an older one, after refusing a set). */
  served(reader: number, generation: number): void {
    this.#readers.set(reader, generation);
  }

  /** `reader` has stopped: it starts no request any more. */
  forget(reader: number): void {
    this.#readers.delete(reader);
  }

  #unused(): number {
    return FIRST_SLOT + this.#loads.capacity - this.#fresh;
  }

  /** Frees retired slots that no reader can pick any more and whose requests have all ended. */
  #reclaim(next: EndpointSet): void {
    let oldest = Infinity;
    for (const g of this.#readers.values()) if (g < oldest) oldest = g;
    for (const [name, r] of this.#retired) {
      // A name coming back keeps its slot instead.
      if (next.byName.has(name)) continue;
      if (r.since <= oldest && this.#loads.inflightAt(r.slot) === 0) {
        this.#retired.delete(name);
        this.#free.push(r.slot);
      }
    }
  }
}
