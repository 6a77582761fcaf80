/**
 * Exact ownership of a ring hash (ring-hash.ts) as arcs of the 32-bit ring: a key belongs to the
 * first node at or after the high 32 bits of its xxHash64 (`hi`), wrapping past the top, and,
 * when that node's endpoint is draining, to the next node clockwise whose endpoint is not: the
 * walk a pick makes. So every key whose `hi` falls in (p[j-1], p[j]] has one home, and comparing
 * two rings is a merge of their node positions, O(R1 + R2), with no sampling: the fractions are
 * exact and the moved ranges are the whole truth.
 *
 * A range is [lo, hi] inclusive on `xxh64(key) >>> 32` (key text after any key transform).
 */
import type { EndpointSet } from '../balancer/endpoint.js';
import type { RingTable } from '../balancer/ring-hash.js';

/** 2^32: the ring's circumference. */
export const RING = 4294967296;

/** A ring's node positions with the home of each node's arc, by endpoint index (-1: none). */
export interface RingHomes {
  readonly positions: Uint32Array;
  readonly homes: Int32Array;
}

/** Each node's home: its endpoint, or the next node's clockwise past draining endpoints. O(R). */
export function ringHomes(table: RingTable, set: EndpointSet): RingHomes {
  const { positions, owners } = table;
  const r = owners.length;
  const homes = new Int32Array(r).fill(-1);
  const eps = set.endpoints;
  let start = -1;
  for (let j = 0; j < r; j++) {
    if (!eps[owners[j]!]!.draining) {
      start = j;
      break;
    }
  }
  if (start < 0) return { positions, homes };
  // Walking counter-clockwise from a live node, each node takes the home of the one after it.
  let home = owners[start]!;
  for (let step = 0; step < r; step++) {
    const j = (start - step + r) % r;
    const o = owners[j]!;
    if (!eps[o]!.draining) home = o;
    homes[j] = home;
  }
  return { positions, homes };
}

/** A ring without endpoints: one arc, all of it, with no home. */
const NO_RING: RingHomes = { positions: Uint32Array.of(RING - 1), homes: Int32Array.of(-1) };

/** A stretch of the ring whose home is `from` in the first ring and `to` in the second. */
export interface Arc {
  readonly lo: number;
  readonly hi: number;
  /** Endpoint indexes in each ring's set; -1 where no endpoint is live. */
  readonly from: number;
  readonly to: number;
}

/**
 * Calls `visit` for every stretch of the ring in order from 0, with its home in `a` and in `b`.
 * Neighbouring stretches with the same pair of homes come as one. An empty ring is every key
 * without a home (-1).
 */
export function compareRings(a: RingHomes, b: RingHomes, visit: (arc: Arc) => void): void {
  if (a.positions.length === 0) a = NO_RING;
  if (b.positions.length === 0) b = NO_RING;
  const pa = a.positions;
  const pb = b.positions;
  // The home of a point p in ring x: the first node at or after p, wrapping to node 0.
  let ia = 0;
  let ib = 0;
  let lo = 0;
  const run = new ArcRun(visit);
  while (ia < pa.length || ib < pb.length) {
    const next = Math.min(ia < pa.length ? pa[ia]! : RING, ib < pb.length ? pb[ib]! : RING);
    // Every point of [lo, next] has the same first node at or after it in both rings.
    run.add(a.homes[ia < pa.length ? ia : 0]!, b.homes[ib < pb.length ? ib : 0]!, lo, next);
    lo = next + 1;
    while (ia < pa.length && pa[ia]! <= next) ia++;
    while (ib < pb.length && pb[ib]! <= next) ib++;
  }
  // Past the last node of both: wraps to node 0 of each.
  if (lo <= RING - 1) run.add(a.homes[0]!, b.homes[0]!, lo, RING - 1);
  run.flush();
}

/** Joins neighbouring stretches with the same pair of homes before they are visited. */
class ArcRun {
  readonly #visit: (arc: Arc) => void;
  #open = false;
  #lo = 0;
  #hi = 0;
  #from = 0;
  #to = 0;

  constructor(visit: (arc: Arc) => void) {
    this.#visit = visit;
  }

  add(from: number, to: number, lo: number, hi: number): void {
    if (this.#open && this.#from === from && this.#to === to && this.#hi + 1 === lo) {
      this.#hi = hi;
      return;
    }
    this.flush();
    this.#open = true;
    this.#lo = lo;
    this.#hi = hi;
    this.#from = from;
    this.#to = to;
  }

  flush(): void {
    if (this.#open) this.#visit({ lo: this.#lo, hi: this.#hi, from: this.#from, to: this.#to });
    this.#open = false;
  }
}
