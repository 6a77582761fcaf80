/**
 * Least request, full scan: the usable endpoint with the fewest in-flight requests per unit of
 * weight, the scan starting at a random endpoint so that equal endpoints share evenly. O(n) per pick, no allocation; for large sets prefer p2c, which is O(1) and, by the
 * power of two choices, nearly as good.
 */
import type { Balancer, Exclusion, PickResult } from './balancer.js';
import { NO_PICK } from './balancer.js';
import type { EndpointSet } from './endpoint.js';
import type { RoutingKey } from './hash.js';
import type { LoadBoard } from './load-board.js';
import type { Rng } from './rng.js';
import { usable } from './usable.js';

export class LeastRequestBalancer implements Balancer {
  readonly algorithm = 'least-request';
  readonly keyed = false;
  readonly #board: LoadBoard;
  readonly #rng: Rng;

  constructor(board: LoadBoard, rng: Rng) {
    this.#board = board;
    this.#rng = rng;
  }

  update(set: EndpointSet): void {
    this.#board.sync(set);
  }

  pick(_key: RoutingKey | null, exclude: Exclusion | null): PickResult {
    const loads = this.#board.loads;
    const n = loads.length;
    if (n === 0) return NO_PICK.empty;
    // The scan starts at a random endpoint and keeps the first of equal costs: one draw per pick
    // (a reservoir over ties costs a draw per tied endpoint, which is every endpoint when idle),
    // and equal endpoints still share evenly.
    const start = this.#rng.below(n);
    let best = -1;
    let bestCost = Infinity;
    for (let step = 0; step < n; step++) {
      const i = start + step < n ? start + step : start + step - n;
      const l = loads[i]!;
      if (!usable(l, exclude)) continue;
      const cost = (l.inflight + 1) / l.endpoint.weight;
      if (cost < bestCost) {
        best = i;
        bestCost = cost;
      }
    }
    return best < 0 ? NO_PICK['all-unavailable'] : this.#board.begin(best);
  }
}
