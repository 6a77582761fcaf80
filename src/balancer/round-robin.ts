/**
 * Smooth weighted round robin, as nginx does it (ngx_http_upstream_get_peer): each pick adds every
 * endpoint's weight to its current value, takes the highest, and subtracts the total from it. With
 * weights 5, 1, 1 the order is a a b a c a a, not a a a a a b c.
 *
 * nginx's loop is O(n) per pick. The sequence is periodic with period = total weight, so update()
 * precomputes one period (up to MAX_SCHEDULE entries) and pick() is O(1): an index into it. Larger
 * totals fall back to nginx's O(n) loop. Unavailable or excluded endpoints are skipped in order, so
 * the rest keep their proportions.
 */
import type { Balancer, Exclusion, PickResult } from './balancer.js';
import { NO_PICK } from './balancer.js';
import type { EndpointSet } from './endpoint.js';
import type { RoutingKey } from './hash.js';
import type { LoadBoard } from './load-board.js';
import { usable } from './usable.js';

const MAX_SCHEDULE = 1 << 20;

export class RoundRobinBalancer implements Balancer {
  readonly algorithm = 'round-robin';
  readonly keyed = false;
  readonly #board: LoadBoard;
  #schedule = new Uint32Array(0);
  #cursor = 0;
  /** For totals too large to precompute: nginx's running `current_weight` per endpoint. */
  #current = new Float64Array(0);
  #weights = new Float64Array(0);
  #total = 0;
  #precomputed = true;

  /** `offset` starts the rotation elsewhere (for example seeded per process) so that several proxies don't all begin at the same endpoint. */
  constructor(board: LoadBoard, offset = 0) {
    this.#board = board;
    this.#cursor = offset;
  }

  update(set: EndpointSet): void {
    this.#board.sync(set);
    const eps = set.endpoints;
    const n = eps.length;
    const weights = new Float64Array(n);
    for (let i = 0; i < n; i++) weights[i] = eps[i]!.weight;
    this.#weights = weights;
    this.#current = new Float64Array(n);
    this.#total = set.totalWeight;
    this.#precomputed = set.totalWeight <= MAX_SCHEDULE;
    if (this.#precomputed) {
      const schedule = new Uint32Array(set.totalWeight);
      for (let s = 0; s < schedule.length; s++) schedule[s] = this.#smoothNext(n);
      this.#schedule = schedule;
      this.#cursor = schedule.length === 0 ? 0 : this.#cursor % schedule.length;
    }
  }

  pick(_key: RoutingKey | null, exclude: Exclusion | null): PickResult {
    const loads = this.#board.loads;
    const n = loads.length;
    if (n === 0) return NO_PICK.empty;
    if (this.#precomputed) {
      const schedule = this.#schedule;
      const len = schedule.length;
      // A full period visits every endpoint, so one period of skipping is enough.
      for (let step = 0; step < len; step++) {
        const i = schedule[this.#cursor]!;
        this.#cursor = this.#cursor + 1 === len ? 0 : this.#cursor + 1;
        if (usable(loads[i]!, exclude)) return this.#board.begin(i);
      }
      return NO_PICK['all-unavailable'];
    }
    for (let step = 0; step < n; step++) {
      const i = this.#smoothNext(n);
      if (usable(loads[i]!, exclude)) return this.#board.begin(i);
    }
    return NO_PICK['all-unavailable'];
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
