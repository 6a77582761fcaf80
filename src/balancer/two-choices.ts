/**
 * Power of two choices (Mitzenmacher, 2001): draw two distinct usable endpoints at random and take
 * the one with the lower cost. Usable includes "below its in-flight limit", so both draws skip full
 * endpoints, and the draws end in a scan: a pick fails only when nothing is usable. The cost is injected: in-flight per weight for `p2c`, peak-EWMA
 * latency times in-flight for `peak-ewma` (as Finagle and Linkerd do it). O(1) per pick.
 */
import type { Balancer, Exclusion, PickResult } from './balancer.js';
import { NO_PICK } from './balancer.js';
import type { EndpointSet } from './endpoint.js';
import type { RoutingKey } from './hash.js';
import type { EndpointLoad, LoadBoard } from './load-board.js';
import type { Rng } from './rng.js';
import { firstUsableFrom, noUsable, usable } from './usable.js';

export type LoadCost = (load: EndpointLoad, nowMs: number) => number;

const DRAWS = 4;

export class TwoChoicesBalancer implements Balancer {
  readonly algorithm: string;
  readonly keyed = false;
  readonly #board: LoadBoard;
  readonly #rng: Rng;
  readonly #cost: LoadCost;

  constructor(algorithm: string, board: LoadBoard, rng: Rng, cost: LoadCost) {
    this.algorithm = algorithm;
    this.#board = board;
    this.#rng = rng;
    this.#cost = cost;
  }

  update(set: EndpointSet): void {
    this.#board.sync(set);
  }

  pick(_key: RoutingKey | null, exclude: Exclusion | null): PickResult {
    const board = this.#board;
    const loads = board.loads;
    const n = loads.length;
    if (n === 0) return NO_PICK.empty;
    if (n === 1) return (usable(loads[0]!, exclude) ? board.claim(0) : null) ?? noUsable(loads, exclude);
    const a = this.#drawUsable(loads, n, exclude, -1);
    if (a < 0) return noUsable(loads, exclude);
    const b = this.#drawUsable(loads, n, exclude, a);
    if (b < 0) return board.claim(a) ?? this.#anyUsable(loads, n, exclude);
    const now = board.clock.nowMs();
    const first = this.#cost(loads[b]!, now) < this.#cost(loads[a]!, now) ? b : a;
    return board.claim(first) ?? board.claim(first === a ? b : a) ?? this.#anyUsable(loads, n, exclude);
  }

  /**
   * After both choices turned the request down, which happens only when other threads sharing the
   * counts filled them in between: any usable endpoint that still takes it.
   */
  #anyUsable(loads: readonly EndpointLoad[], n: number, exclude: Exclusion | null): PickResult {
    const start = this.#rng.below(n);
    for (let step = 0; step < n; step++) {
      const i = start + step < n ? start + step : start + step - n;
      if (usable(loads[i]!, exclude)) {
        const p = this.#board.claim(i);
        if (p !== null) return p;
      }
    }
    return noUsable(loads, exclude);
  }

  /** A random usable endpoint other than `not`; -1 when there is none. */
  #drawUsable(loads: readonly EndpointLoad[], n: number, exclude: Exclusion | null, not: number): number {
    let i = 0;
    for (let draw = 0; draw < DRAWS; draw++) {
      i = this.#rng.below(n);
      if (i !== not && usable(loads[i]!, exclude)) return i;
    }
    const j = firstUsableFrom(loads, i, exclude);
    if (j !== not) return j;
    const k = firstUsableFrom(loads, (j + 1) % n, exclude);
    return k === not ? -1 : k;
  }
}

export const inflightCost: LoadCost = (load) => (load.inflight + 1) / load.endpoint.weight;

/** Finagle's peak-EWMA cost: decayed latency estimate times (in-flight + 1), per unit of weight. */
export function peakEwmaCost(decayMs: number): LoadCost {
  return (load, nowMs) => (load.latencyMs(nowMs, decayMs) * (load.inflight + 1)) / load.endpoint.weight;
}
