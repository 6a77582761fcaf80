/**
 * Rendezvous hashing over a table of seats (`rendezvous` with `table: true`): the same promise as
 * rendezvous.ts, a key's owner is the highest-ranked endpoint and a set change moves only the keys
 * of the endpoint that came or went, at O(1) expected per pick instead of O(n).
 *
 * Each endpoint holds seats in a table, so many per unit of weight (64 for sets of 192 units and
 * more, more for smaller ones), placed by hashes of its NAME alone. A key ranks the seats by
 * drawing positions from its own hash sequence (mix32(key, 0), mix32(key, 1), ...): the first draw
 * that lands on a held seat names the key's owner, the following held seats its preference order.
 * Draws are independent and uniform, so the first held seat is a uniform choice among the held
 * seats: that is rendezvous (highest random weight) with the seats as the voters, and an
 * endpoint's share is its share of the seats. A seat that several endpoints' hashes land on is
 * held by all of them, and each key ranks them by flat rendezvous among themselves, so that the
 * seat's keys are split between them. Removing an endpoint empties or thins only its own seats:
 * only the keys it owned walk on, each to the next endpoint of its own preference order, exactly
 * where a retry or a draining owner sends it. Adding one takes only keys its seats now meet first.
 * A failed endpoint's keys spread over all the others, as with flat rendezvous.
 *
 * The table has 4 seats for every seat held at the top of a step, so a pick takes 4 to 16 draws
 * on average (one mix and one bitmap read each). Steps: units are weights over their greatest
 * common divisor, and a set's step is the first of 12, 48, 192, 768, 3072, ... (12 x 4^k) at or
 * above its units, so that common pod counts (powers of two, round numbers) sit inside a step
 * rather than at its edge. Within a step, movement is exactly rendezvous'. Crossing one re-seats
 * every endpoint: most keys move once (two thirds and more while the table keeps its smallest
 * size, up to 192 units; nearly all above), as a maglev table-size change does. So does a change
 * of the weights' common divisor.
 *
 * What it costs against flat rendezvous:
 * - Balance: shares follow seat counts, and seats that hash alike make them uneven: about 1% of
 *   standard deviation up to 48 units, 2% to 5% from there (64 seats per unit). Kept sparse on
 *   purpose: a crowded table would favour light endpoints (see SPARSENESS).
 * - Memory: 2 bytes a seat (4 above 65,536 endpoints) and a few bitmaps: about 180 KiB up to 192
 *   units, 0.5 MiB up to 768, 1.9 MiB up to 3,072 (1,000 endpoints), 5 MiB at most (9 MiB above
 *   65,536 endpoints).
 * - Past 3,072 units the table stops growing at 2^21 seats and seats per unit shrink (42 up to
 *   12,288 units, then 10, then 2), so shares grow less even; past 196,608 units (uneven weights
 *   with no common divisor over large sets) seats are rounded to the set's total, and every
 *   change moves a little more than the changed endpoint's keys.
 *
 * The Yao-Wang skeleton (a virtual tree of clusters, rendezvous at each level) was measured first
 * and set aside: its clusters must be weighted by their sizes to keep shares even, and with pods
 * named by hashes rather than by stable numbers every arrival or departure changes some cluster's
 * weight, which moves about 1/n of keys between untouched endpoints per level (1.9x the ideal with
 * two levels over 1,000 endpoints, half of the moved keys not the changed endpoint's).
 *
 * update(): O(seats + table), a few milliseconds for 1,000 endpoints. pick: 4 to 16 draws
 * expected, whatever n is; no allocation.
 */
import type { NoPickReason } from './balancer.js';
import type { EndpointSet } from './endpoint.js';
import type { RoutingKey } from './hash.js';
import { hash64, mix32 } from './hash.js';
import type { HashCore, HashCoreBuilder } from './hashing-balancer.js';

/** The largest unit count of the first step; each next step is STEP_FACTOR times larger. */
export const FIRST_STEP = 12;
export const STEP_FACTOR = 4;
/**
 * Table seats per held seat at the top of a step (STEP_FACTOR times more at its bottom), so that
 * a pick draws 4 to 16 times on average. Kept sparse on purpose: where seats crowd, a seat shared
 * by several endpoints is split evenly among them whatever their weights, and an endpoint's seats
 * fall on each other, so crowded tables favour light endpoints over heavy ones.
 */
const SPARSENESS = 4;
/** Seats per unit of weight wherever the table is larger than MIN_TABLE_SIZE. */
export const SEATS_PER_UNIT = 64;
/** The smallest table (128 KiB of entries): up to 192 units, seats per unit grow instead. */
export const MIN_TABLE_SIZE = 1 << 16;
/**
 * The largest table: 2^21 seats, so that a draw scales onto it exactly in doubles (fastrange).
 * Past 3,072 units, seats per unit shrink instead.
 */
export const MAX_TABLE_SIZE = 1 << 21;
/**
 * Draws one walk step may take before it gives up: with at least one seat in 16 held (a few more
 * where seats are shared), the chance of missing this many times in a row is below 1e-25.
 */
const MAX_DRAWS = 1024;

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** A set's weights in units (over their greatest common divisor), and the step edges around them. */
export function seatSteps(weights: readonly number[]): { readonly units: number; readonly above: number; readonly below: number } {
  let g = 0;
  let total = 0;
  for (const w of weights) {
    g = gcd(w, g);
    total += w;
  }
  const units = g === 0 ? 0 : total / g;
  let above = FIRST_STEP;
  while (above < units) above *= STEP_FACTOR;
  return { units, above, below: above === FIRST_STEP ? 0 : above / STEP_FACTOR };
}

/** The table of a set: its size and how many seats each endpoint holds. */
export interface SeatPlan {
  /** The largest unit count of the set's step: 12 x 4^k. */
  readonly step: number;
  readonly size: number;
  readonly seats: Int32Array;
}

/**
 * Sizes the table for `weights`. Units are weights over their greatest common divisor; the set's
 * step is the first of 12, 48, 192, 768, 3,072, ... (12 x 4^k) at or above its units, so that the
 * usual pod counts (powers of two, round numbers) sit inside a step, not at its edge. The table
 * has SPARSENESS x 64 seats per unit of the step, at least MIN_TABLE_SIZE and at most
 * MAX_TABLE_SIZE, and each endpoint size / (SPARSENESS x step) seats per unit: 1,365 up to 12
 * units, 341 up to 48, 85 up to 192, 64 up to 3,072, then 42, 10 and 2 up to 196,608; past that,
 * weights are rounded onto a quarter of the largest table, at least one seat each.
 */
export function seatPlan(weights: readonly number[]): SeatPlan {
  const n = weights.length;
  const { units, above: step } = seatSteps(weights);
  const total = weights.reduce((a, w) => a + w, 0);
  const g = units === 0 ? 0 : total / units;
  const seats = new Int32Array(n);
  const size = Math.min(MAX_TABLE_SIZE, Math.max(MIN_TABLE_SIZE, SPARSENESS * SEATS_PER_UNIT * step));
  const perUnit = Math.floor(size / (SPARSENESS * step));
  if (perUnit >= 1) {
    for (let i = 0; i < n; i++) seats[i] = (weights[i]! / g) * perUnit;
    return { step, size, seats };
  }
  const held = MAX_TABLE_SIZE / SPARSENESS;
  for (let i = 0; i < n; i++) seats[i] = Math.max(1, Math.round((weights[i]! * held) / total));
  return { step, size: MAX_TABLE_SIZE, seats };
}

/** A 32-bit hash scaled onto [0, size) (fastrange): exact in doubles for size <= 2^21. */
function seatOf(x: number, size: number): number {
  return Math.floor((x * size) / 4294967296);
}

/** Set bits of a 32-bit word (SWAR). */
function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) & 0xff;
}

function bit(words: Int32Array, pos: number): boolean {
  return ((words[pos >>> 5]! >>> (pos & 31)) & 1) !== 0;
}

/** The fold of the 64-bit key that draws seats: the same as flat rendezvous'. */
function drawKey(key: RoutingKey): number {
  return (key.hi ^ Math.imul(key.lo, 0x85ebca6b)) >>> 0;
}

/** A key's score for an endpoint that shares a seat: flat rendezvous among the seat's holders. */
function shareScore(k: number, seed: number): number {
  return mix32(k ^ 0x5bd1e995, seed);
}

export class SeatRendezvous implements HashCoreBuilder {
  readonly algorithm = 'rendezvous';
  readonly strictOwner = false;

  build(set: EndpointSet): SeatTable {
    const eps = set.endpoints;
    const n = eps.length;
    const plan = seatPlan(eps.map((e) => e.weight));
    const size = plan.size;
    const words = (size + 31) >>> 5;
    let total = 0;
    for (let i = 0; i < n; i++) total += plan.seats[i]!;
    // Where each seat of each endpoint falls, and how many fall on each position.
    const posOf = new Int32Array(total);
    const holderOf = new Int32Array(total);
    const claims = new Uint16Array(size);
    const seeds = new Uint32Array(n);
    let c = 0;
    for (let i = 0; i < n; i++) {
      // Two words of the name's 64-bit hash, so that two names never share every seat.
      const h = hash64(eps[i]!.name, 0x5eed5eedn);
      const hi = Number(h >> 32n) | 0;
      const lo = Number(h & 0xffffffffn) | 0;
      seeds[i] = mix32(hi, lo);
      for (let j = 0; j < plan.seats[i]!; j++) {
        const pos = seatOf(mix32(mix32(lo, j) ^ hi, 0x2545f491), size);
        posOf[c] = pos;
        holderOf[c++] = i;
        if (claims[pos]! < 0xffff) claims[pos]!++;
      }
    }
    const owners = n <= 65536 ? new Uint16Array(size) : new Uint32Array(size);
    const held = new Int32Array(words);
    const shared = new Int32Array(words);
    // Shared seats: their holders in `members`, from groupStart[g] to groupStart[g + 1], g being the
    // seat's rank among shared seats (sharedBefore[word] + the shared bits below it in its word).
    let groups = 0;
    let memberSlots = 0;
    for (let pos = 0; pos < size; pos++) {
      const k = claims[pos]!;
      if (k === 0) continue;
      held[pos >>> 5]! |= 1 << (pos & 31);
      if (k > 1) {
        shared[pos >>> 5]! |= 1 << (pos & 31);
        groups++;
        memberSlots += k;
      }
    }
    const sharedBefore = new Int32Array(words);
    for (let w = 1; w < words; w++) sharedBefore[w] = sharedBefore[w - 1]! + popcount(shared[w - 1]!);
    const groupStart = new Int32Array(groups + 1);
    const fill = new Int32Array(groups);
    {
      let g = 0;
      for (let pos = 0; pos < size; pos++) {
        if (claims[pos]! > 1) {
          groupStart[g + 1] = groupStart[g]! + claims[pos]!;
          g++;
        }
      }
    }
    const members = new Int32Array(memberSlots).fill(-1);
    for (let s = 0; s < total; s++) {
      const pos = posOf[s]!;
      const i = holderOf[s]!;
      if (!bit(shared, pos)) {
        owners[pos] = i;
        continue;
      }
      const g = groupOf(shared, sharedBefore, pos);
      const from = groupStart[g]!;
      // An endpoint with two seats on one position holds it once.
      let dup = false;
      for (let m = from; m < from + fill[g]!; m++) if (members[m] === i) dup = true;
      if (!dup) members[from + fill[g]!++] = i;
    }
    return new SeatTable(owners, held, shared, sharedBefore, groupStart, fill, members, seeds);
  }
}

/** The rank of shared seat `pos` among the shared seats. */
function groupOf(shared: Int32Array, sharedBefore: Int32Array, pos: number): number {
  const w = pos >>> 5;
  const below = (pos & 31) === 0 ? 0 : shared[w]! & (0xffffffff >>> (32 - (pos & 31)));
  return sharedBefore[w]! + popcount(below);
}

export class SeatTable implements HashCore {
  readonly missReason: NoPickReason = 'empty';
  /** The endpoint index at each seat held by one endpoint. */
  readonly owners: Uint16Array | Uint32Array;
  /** One bit per seat: held or not. */
  readonly held: Int32Array;
  /** One bit per seat: held by more than one endpoint. */
  readonly shared: Int32Array;
  readonly #sharedBefore: Int32Array;
  readonly #groupStart: Int32Array;
  readonly #groupSize: Int32Array;
  readonly #members: Int32Array;
  readonly #seeds: Uint32Array;
  #key = 0;
  /** The next draw of the current key's walk. */
  #draw = 0;
  /** While the walk is at a shared seat: its group, and the holder and score it returned last. */
  #group = -1;
  #lastMember = -1;
  #lastScore = 0;

  constructor(owners: Uint16Array | Uint32Array, held: Int32Array, shared: Int32Array, sharedBefore: Int32Array, groupStart: Int32Array, groupSize: Int32Array, members: Int32Array, seeds: Uint32Array) {
    this.owners = owners;
    this.held = held;
    this.shared = shared;
    this.#sharedBefore = sharedBefore;
    this.#groupStart = groupStart;
    this.#groupSize = groupSize;
    this.#members = members;
    this.#seeds = seeds;
  }

  first(key: RoutingKey): number {
    this.#key = drawKey(key);
    this.#draw = 0;
    this.#group = -1;
    const i = this.next();
    return i >= 0 ? i : this.#scan();
  }

  next(): number {
    if (this.#group >= 0) {
      const i = this.#nextHolder();
      if (i >= 0) return i;
    }
    const k = this.#key;
    const held = this.held;
    const size = this.owners.length;
    const end = this.#draw + MAX_DRAWS;
    for (let t = this.#draw; t < end; t++) {
      const pos = seatOf(mix32(k, t), size);
      if (bit(held, pos)) {
        this.#draw = t + 1;
        if (!bit(this.shared, pos)) return this.owners[pos]!;
        this.#group = groupOf(this.shared, this.#sharedBefore, pos);
        this.#lastMember = -1;
        return this.#nextHolder();
      }
    }
    // Practically never: the walk ends, and the caller's own fallback (a scan of the endpoints)
    // takes over, as it does for every order that runs dry.
    this.#draw = end;
    return -1;
  }

  /** Seats held, for tests and gauges. */
  get heldSeats(): number {
    let c = 0;
    for (const w of this.held) c += popcount(w);
    return c;
  }

  /** The holders of shared seat `pos` (allocates: for tests). */
  holdersAt(pos: number): number[] {
    if (!bit(this.held, pos)) return [];
    if (!bit(this.shared, pos)) return [this.owners[pos]!];
    const g = groupOf(this.shared, this.#sharedBefore, pos);
    const from = this.#groupStart[g]!;
    return Array.from(this.#members.subarray(from, from + this.#groupSize[g]!));
  }

  get bytes(): number {
    return this.owners.byteLength + this.held.byteLength + this.shared.byteLength + this.#sharedBefore.byteLength + this.#groupStart.byteLength + this.#groupSize.byteLength + this.#members.byteLength + this.#seeds.byteLength;
  }

  /**
   * The next holder of the current shared seat by the key's score, highest first (ties to the
   * lower index), or -1 when all were returned; a seat has a handful of holders at most.
   */
  #nextHolder(): number {
    const g = this.#group;
    const from = this.#groupStart[g]!;
    const to = from + this.#groupSize[g]!;
    const k = this.#key;
    const last = this.#lastMember;
    const lastScore = this.#lastScore;
    let best = -1;
    let bestScore = -1;
    for (let m = from; m < to; m++) {
      const i = this.#members[m]!;
      const score = shareScore(k, this.#seeds[i]!);
      // Below the last one returned, in the order (score descending, index ascending).
      if (last >= 0 && (score > lastScore || (score === lastScore && i <= last))) continue;
      if (score > bestScore || (score === bestScore && i < best)) {
        best = i;
        bestScore = score;
      }
    }
    if (best < 0) {
      this.#group = -1;
      return -1;
    }
    this.#lastMember = best;
    this.#lastScore = bestScore;
    return best;
  }

  /** The first held seat from the key's first draw on, in seat order: the end of a walk that found none. */
  #scan(): number {
    const size = this.owners.length;
    const start = seatOf(mix32(this.#key, 0), size);
    for (let step = 0; step < size; step++) {
      const pos = (start + step) % size;
      if (!bit(this.held, pos)) continue;
      if (!bit(this.shared, pos)) return this.owners[pos]!;
      this.#group = groupOf(this.shared, this.#sharedBefore, pos);
      this.#lastMember = -1;
      return this.#nextHolder();
    }
    return -1;
  }
}
