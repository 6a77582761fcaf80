/**
 * In-flight counts that several threads of one process share, so that every thread's picks see the
 * whole process's load: bounded loads bound the process, not one thread, and a per-endpoint limit
 * caps the pod, not a thread's share of it. One SharedArrayBuffer of 32-bit cells, updated with
 * Atomics by the load board (load-board.ts):
 *
 * | cell              | holds                                                                 |
 * | ----------------- | --------------------------------------------------------------------- |
 * | 0                 | round robin's turn counter (round-robin.ts), read as unsigned         |
 * | 1                 | requests in flight over every endpoint, including ones just removed   |
 * | 2 .. 2 + capacity | one endpoint's requests in flight, a slot per endpoint NAME           |
 *
 * Slots are assigned by one thread (shared-slots.ts) and sent with each endpoint set; every thread
 * learns them through `setSlots` before it applies the set, so a name maps to the same cell in
 * every thread. Each thread attaches its own SharedLoads to the same buffer: the name-to-slot map
 * is per thread, the cells are not.
 *
 * Plain reads of the cells (a pick's heuristics) are tear-free, as for any aligned 32-bit typed
 * array element; decisions that must hold process-wide (a bound, a limit) are made on the value an
 * Atomics.add returned.
 */
import { ConfigError, ShardgateError } from '../errors.js';

export const ROTATION_CELL = 0;
export const TOTAL_CELL = 1;
export const FIRST_SLOT = 2;

/** Slots a process gets by default: far above any endpoint set plus the names still draining (256 KiB). */
export const DEFAULT_SHARED_SLOTS = 65_536;
export const MAX_SHARED_SLOTS = 1 << 24;

export class SharedLoads {
  readonly buffer: SharedArrayBuffer;
  /** Every cell: the total at TOTAL_CELL, endpoints from FIRST_SLOT. */
  readonly counts: Int32Array;
  /** Cell ROTATION_CELL read as unsigned, so that the turn counter wraps at 2^32, not to negatives. */
  readonly turns: Uint32Array;
  /** Endpoint slots: names present plus names removed whose requests have not all ended. */
  readonly capacity: number;
  #slots: ReadonlyMap<string, number> = new Map();

  /** Attaches to cells made by `SharedLoads.create` in this or another thread. */
  constructor(buffer: SharedArrayBuffer) {
    if (!(buffer instanceof SharedArrayBuffer) || buffer.byteLength < (FIRST_SLOT + 1) * 4 || buffer.byteLength % 4 !== 0) {
      throw new ShardgateError('SG_ERR_CONFIG', 'shared loads need the SharedArrayBuffer that SharedLoads.create made');
    }
    this.buffer = buffer;
    this.counts = new Int32Array(buffer);
    this.turns = new Uint32Array(buffer, ROTATION_CELL * 4, 1);
    this.capacity = this.counts.length - FIRST_SLOT;
  }

  /**
   * New zeroed cells for `slots` endpoint names; `firstTurn` starts round robin elsewhere than the
   * first endpoint (seeded per process, so that proxies started together don't all begin alike).
   * @throws ConfigError naming `field` when `slots` is not an integer from 1 to MAX_SHARED_SLOTS
   */
  static create(slots = DEFAULT_SHARED_SLOTS, firstTurn = 0, field = 'sharedSlots'): SharedLoads {
    if (!Number.isInteger(slots) || slots < 1 || slots > MAX_SHARED_SLOTS) {
      throw new ConfigError('SG_ERR_CONFIG', field, `is ${String(slots)}: shared in-flight counts need an integer from 1 to ${MAX_SHARED_SLOTS} slots, at least the endpoints of the largest set plus the ones still draining; the default is ${DEFAULT_SHARED_SLOTS}`);
    }
    const loads = new SharedLoads(new SharedArrayBuffer((FIRST_SLOT + slots) * 4));
    loads.turns[0] = firstTurn >>> 0;
    return loads;
  }

  /** Requests in flight over the whole process. */
  get totalInflight(): number {
    return Atomics.load(this.counts, TOTAL_CELL);
  }

  /** Requests in flight at the endpoint slot `slot`, over the whole process. */
  inflightAt(slot: number): number {
    return Atomics.load(this.counts, slot);
  }

  /**
   * The slots of the set about to be applied, `slots[i]` for `names[i]`, as the assigning thread
   * sent them. Replaces the previous map: names absent from it have no slot in this thread.
   * @throws ShardgateError when the lists differ in length or a slot is outside the cells
   */
  setSlots(names: readonly string[], slots: readonly number[]): void {
    if (names.length !== slots.length) {
      throw new ShardgateError('SG_ERR_ENDPOINTS', `an endpoint set came with ${slots.length} shared slots for ${names.length} endpoints: every endpoint needs one`);
    }
    const map = new Map<string, number>();
    for (let i = 0; i < names.length; i++) {
      const slot = slots[i]!;
      if (!Number.isInteger(slot) || slot < FIRST_SLOT || slot >= this.counts.length) {
        throw new ShardgateError('SG_ERR_ENDPOINTS', `endpoint "${names[i]!}" came with shared slot ${String(slot)}, outside ${FIRST_SLOT}..${this.counts.length - 1}`);
      }
      map.set(names[i]!, slot);
    }
    this.#slots = map;
  }

  /**
   * The cell of `name`.
   * @throws ShardgateError when the name came without a slot (the set was applied before its slots)
   */
  slotOf(name: string): number {
    const slot = this.#slots.get(name);
    if (slot === undefined) {
      throw new ShardgateError('SG_ERR_ENDPOINTS', `endpoint "${name}" has no shared slot: call setSlots with the set's slots before applying it`);
    }
    return slot;
  }
}
