/**
 * Weighted random. update(): prefix sums of weights, O(n). pick(): one draw and a binary search,
 * O(log n); an unavailable, full or excluded draw is redrawn a few times, then one weighted draw over the
 * usable endpoints alone, O(n). Both steps choose in proportion to weight among the usable
 * endpoints, so skipping some does not favour their neighbours (as "take the next usable one"
 * would). Randomness is injected.
 */
import type { Balancer, Exclusion, PickResult } from './balancer.js';
import { NO_PICK } from './balancer.js';
import type { EndpointSet } from './endpoint.js';
import type { RoutingKey } from './hash.js';
import type { EndpointLoad, LoadBoard } from './load-board.js';
import type { Rng } from './rng.js';
import { noUsable, usable } from './usable.js';

const REDRAWS = 4;
const UNIT = 1 << 30;

export class RandomBalancer implements Balancer {
  readonly algorithm = 'random';
  readonly keyed = false;
  readonly #board: LoadBoard;
  readonly #rng: Rng;
  #cumulative = new Float64Array(0);
  #uniform = true;

  constructor(board: LoadBoard, rng: Rng) {
    this.#board = board;
    this.#rng = rng;
  }

  update(set: EndpointSet): void {
    this.#board.sync(set);
    const eps = set.endpoints;
    const cumulative = new Float64Array(eps.length);
    let sum = 0;
    let uniform = true;
    for (let i = 0; i < eps.length; i++) {
      sum += eps[i]!.weight;
      cumulative[i] = sum;
      if (eps[i]!.weight !== eps[0]!.weight) uniform = false;
    }
    this.#cumulative = cumulative;
    this.#uniform = uniform;
  }

  pick(_key: RoutingKey | null, exclude: Exclusion | null): PickResult {
    const cumulative = this.#cumulative;
    const n = cumulative.length;
    if (n === 0) return NO_PICK.empty;
    const board = this.#board;
    for (let draw = 0; draw < REDRAWS; draw++) {
      const i = this.#draw(cumulative, n);
      if (usable(board.loads[i]!, exclude)) {
        const p = board.claim(i);
        if (p !== null) return p;
      }
    }
    // A usable endpoint turns a request down only when another thread filled it in between.
    for (let attempt = 0; attempt < n; attempt++) {
      const j = this.#drawUsable(board.loads, exclude);
      if (j < 0) break;
      const p = board.claim(j);
      if (p !== null) return p;
    }
    return noUsable(board.loads, exclude);
  }

  /** A weighted draw among usable endpoints only; -1 when there is none. */
  #drawUsable(loads: readonly EndpointLoad[], exclude: Exclusion | null): number {
    let total = 0;
    let last = -1;
    for (let i = 0; i < loads.length; i++) {
      if (usable(loads[i]!, exclude)) {
        total += loads[i]!.endpoint.weight;
        last = i;
      }
    }
    if (last < 0) return -1;
    let target = (this.#rng.below(UNIT) / UNIT) * total;
    for (let i = 0; i < last; i++) {
      if (!usable(loads[i]!, exclude)) continue;
      target -= loads[i]!.endpoint.weight;
      if (target < 0) return i;
    }
    return last;
  }

  #draw(cumulative: Float64Array, n: number): number {
    if (this.#uniform) return this.#rng.below(n);
    const target = (this.#rng.below(UNIT) / UNIT) * cumulative[n - 1]!;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cumulative[mid]! > target) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}
