/**
 * Smooth weighted round robin, as nginx does it (ngx_http_upstream_get_peer): each pick adds every
 * endpoint's weight to its current value, takes the highest, and subtracts the total from it. With
 * weights 5, 1, 1 the order is a a b a c a a, not a a a a a b c.
 *
 * nginx's loop is O(n) per pick. The sequence is periodic with period = total weight / gcd of the
 * weights (scaling every weight by g scales every running value by g and changes no comparison),
 * so update() precomputes one period and pick() is O(1): an index into it; unavailable, full or
 * excluded endpoints are skipped in order, so the rest keep their proportions. Precomputing costs
 * O(period x n), so past SCHEDULE_BUDGET steps pick() runs nginx's O(n) loop itself, over usable
 * endpoints only, as nginx skips down and already-tried peers.
 *
 * With shared in-flight counts (shared-loads.ts) the position in the period is one counter for the
 * whole process, taken with Atomics.add, so threads interleave on one schedule and the counts stay
 * exact in aggregate: 4 threads x 1,000 picks over 4 equal endpoints give exactly 1,000 each. The
 * O(n) fallback for huge weight totals keeps nginx's running values per thread: each thread's
 * sequence has the right proportions, the process's interleaving of them is not smooth.
 */
import type { Balancer, Exclusion, PickResult } from './balancer.js';
import { NO_PICK } from './balancer.js';
import type { EndpointSet } from './endpoint.js';
import type { RoutingKey } from './hash.js';
import type { EndpointLoad, LoadBoard } from './load-board.js';
import { noUsable, usable } from './usable.js';

/** Precompute one period when period x n stays under this many steps (tens of ms in update()). */
const SCHEDULE_BUDGET = 1 << 26;
/** A shared turn counter at or past this is folded back to its residue, long before it wraps at 2^32. */
const FOLD_AT = 2 ** 31;

function gcd(a: number, b: number): number {
  while (b !== 0) {
    const t = a % b;
    a = b;
    b = t;
  }
  return a;
}

export class RoundRobinBalancer implements Balancer {
  readonly algorithm = 'round-robin';
  readonly keyed = false;
  readonly #board: LoadBoard;
  #schedule = new Uint32Array(0);
  #cursor = 0;
  /** The process's turn counter when in-flight counts are shared; null: `#cursor` alone. */
  readonly #turns: Uint32Array | null;
  /** For totals too large to precompute: nginx's running `current_weight` per endpoint. */
  #current = new Float64Array(0);
  #weights = new Float64Array(0);
  #total = 0;
  #precomputed = true;

  /**
   * `offset` starts the rotation elsewhere (for example seeded per process) so that several proxies
   * don't all begin at the same endpoint. A board with shared counts brings the process's turn
   * counter, which was seeded where it was made; `offset` is then unused. A view (one zone, one
   * subset) keeps turns of its own per thread: its schedule differs from the root's.
   */
  constructor(board: LoadBoard, offset = 0) {
    this.#board = board;
    this.#cursor = offset;
    this.#turns = board.turns;
  }

  update(set: EndpointSet): void {
    this.#board.sync(set);
    const eps = set.endpoints;
    const n = eps.length;
    let g = 0;
    for (const e of eps) g = gcd(e.weight, g);
    const weights = new Float64Array(n);
    let total = 0;
    for (let i = 0; i < n; i++) {
      weights[i] = eps[i]!.weight / g;
      total += weights[i]!;
    }
    this.#weights = weights;
    this.#current = new Float64Array(n);
    this.#total = total;
    this.#precomputed = total === n || total * n <= SCHEDULE_BUDGET;
    if (this.#precomputed) {
      const schedule = new Uint32Array(total);
      // Equal weights: nginx's order is the endpoints in order (ties go to the first).
      if (total === n) for (let s = 0; s < n; s++) schedule[s] = s;
      else for (let s = 0; s < total; s++) schedule[s] = this.#smoothNext(n);
      this.#schedule = schedule;
      this.#cursor = total === 0 ? 0 : this.#cursor % total;
    } else {
      this.#schedule = new Uint32Array(0);
    }
  }

  pick(_key: RoutingKey | null, exclude: Exclusion | null): PickResult {
    const board = this.#board;
    const loads = board.loads;
    const n = loads.length;
    if (n === 0) return NO_PICK.empty;
    // Spares a walk over a whole period when nothing can take the request.
    if (board.availableCount === 0) return NO_PICK['all-unavailable'];
    if (this.#precomputed) {
      const turns = this.#turns;
      return turns === null ? this.#walk(loads, exclude) : this.#walkShared(turns, loads, exclude);
    }
    // A usable endpoint turns a request down only when another thread filled it in between.
    for (let attempt = 0; attempt < n; attempt++) {
      const i = this.#smoothNextUsable(loads, exclude);
      if (i < 0) break;
      const p = board.claim(i);
      if (p !== null) return p;
    }
    return noUsable(loads, exclude);
  }

  /** The precomputed period from this balancer's own cursor. */
  #walk(loads: readonly EndpointLoad[], exclude: Exclusion | null): PickResult {
    const schedule = this.#schedule;
    const len = schedule.length;
    // A full period visits every endpoint, so one period of skipping is enough.
    for (let step = 0; step < len; step++) {
      const i = schedule[this.#cursor]!;
      this.#cursor = this.#cursor + 1 === len ? 0 : this.#cursor + 1;
      if (usable(loads[i]!, exclude)) {
        const p = this.#board.claim(i);
        if (p !== null) return p;
      }
    }
    return noUsable(loads, exclude);
  }

  /** The precomputed period from the process's turn counter. */
  #walkShared(turns: Uint32Array, loads: readonly EndpointLoad[], exclude: Exclusion | null): PickResult {
    const schedule = this.#schedule;
    const len = schedule.length;
    let turn = 0;
    for (let step = 0; step < len; step++) {
      const t = Atomics.add(turns, 0, 1);
      // Keeps the residue, so the order goes on exactly; if another thread took a turn in
      // between, the exchange fails and a later turn folds instead.
      if (t >= FOLD_AT) Atomics.compareExchange(turns, 0, t + 1, (t + 1) % len);
      turn = t % len;
      const i = schedule[turn]!;
      if (usable(loads[i]!, exclude)) {
        const p = this.#board.claim(i);
        if (p !== null) return p;
      }
    }
    // Other threads took turns in between, so this thread's may have missed every usable
    // endpoint: walk one period on from the last turn.
    for (let step = 1; step <= len; step++) {
      const i = schedule[(turn + step) % len]!;
      if (usable(loads[i]!, exclude)) {
        const p = this.#board.claim(i);
        if (p !== null) return p;
      }
    }
    return noUsable(loads, exclude);
  }

  /**
   * nginx's step over the usable endpoints only. Skipping after the fact would not do: with one
   * heavy endpoint excluded, n steps in a row can all land on it while light ones are usable.
   */
  #smoothNextUsable(loads: readonly EndpointLoad[], exclude: Exclusion | null): number {
    const current = this.#current;
    const weights = this.#weights;
    let best = -1;
    let total = 0;
    for (let i = 0; i < loads.length; i++) {
      if (!usable(loads[i]!, exclude)) continue;
      current[i]! += weights[i]!;
      total += weights[i]!;
      if (best < 0 || current[i]! > current[best]!) best = i;
    }
    if (best >= 0) current[best]! -= total;
    return best;
  }

  #smoothNext(n: number): number {
    const current = this.#current;
    const weights = this.#weights;
    let best = 0;
    for (let i = 0; i < n; i++) {
      current[i]! += weights[i]!;
      if (current[i]! > current[best]!) best = i;
    }
    current[best]! -= this.#total;
    return best;
  }
}
