/**
 * Rendezvous, or highest random weight, hashing (Thaler and Ravishankar, 1998), weighted by the
 * logarithmic method (Schindelhauer and Schomaker, 2005): endpoint i scores -w_i / ln(u_i), where
 * u_i in (0, 1) is a hash of the key and the endpoint's NAME; the highest score owns the key, the
 * next ones are its preference order. Removing an endpoint moves only its own keys, exactly.
 *
 * pick: O(n), one mix per endpoint (no logarithm when all weights are equal, since -1/ln(u) grows
 * with u); for very large sets prefer maglev or ring hash. Each further candidate costs another
 * O(n) scan over the scores of the first one. update(): O(n).
 */
import type { NoPickReason } from './balancer.js';
import type { EndpointSet } from './endpoint.js';
import type { RoutingKey } from './hash.js';
import { hash32, mix32 } from './hash.js';
import type { HashCore, HashCoreBuilder } from './hashing-balancer.js';

export class Rendezvous implements HashCoreBuilder {
  readonly algorithm = 'rendezvous';
  readonly strictOwner = false;

  build(set: EndpointSet): RendezvousTable {
    const eps = set.endpoints;
    const seeds = new Uint32Array(eps.length);
    const weights = new Float64Array(eps.length);
    let uniform = true;
    eps.forEach((e, i) => {
      seeds[i] = hash32(e.name);
      weights[i] = e.weight;
      if (e.weight !== eps[0]!.weight) uniform = false;
    });
    return new RendezvousTable(seeds, weights, uniform);
  }
}

export class RendezvousTable implements HashCore {
  readonly missReason: NoPickReason = 'empty';
  readonly #seeds: Uint32Array;
  readonly #weights: Float64Array;
  readonly #uniform: boolean;
  /** Scores of the current key, filled on demand; a returned candidate's score becomes -1. */
  readonly #scores: Float64Array;
  #key = 0;
  #owner = 0;
  #scored = false;

  constructor(seeds: Uint32Array, weights: Float64Array, uniform: boolean) {
    this.#seeds = seeds;
    this.#weights = weights;
    this.#uniform = uniform;
    this.#scores = new Float64Array(seeds.length);
  }

  first(key: RoutingKey): number {
    // Fold the 64-bit key into one word; mix32 is a bijection of its input, so distinct endpoint
    // seeds give independent-looking scores for the same key.
    this.#key = (key.hi ^ Math.imul(key.lo, 0x85ebca6b)) >>> 0;
    this.#scored = false;
    const seeds = this.#seeds;
    const n = seeds.length;
    let best = 0;
    let bestScore = -1;
    if (this.#uniform) {
      const k = this.#key;
      for (let i = 0; i < n; i++) {
        const s = mix32(k, seeds[i]!);
        if (s > bestScore) {
          bestScore = s;
          best = i;
        }
      }
    } else {
      this.#score();
      const scores = this.#scores;
      for (let i = 0; i < n; i++) {
        if (scores[i]! > bestScore) {
          bestScore = scores[i]!;
          best = i;
        }
      }
      scores[best] = -1;
    }
    this.#owner = best;
    return best;
  }

  next(): number {
    const scores = this.#scores;
    if (!this.#scored) {
      this.#score();
      scores[this.#owner] = -1;
    }
    let best = -1;
    let bestScore = -1;
    for (let i = 0; i < scores.length; i++) {
      if (scores[i]! > bestScore) {
        bestScore = scores[i]!;
        best = i;
      }
    }
    if (best >= 0) scores[best] = -1;
    return best;
  }

  /** Fills every endpoint's score for the current key (the preference order beyond the owner). */
  #score(): void {
    const seeds = this.#seeds;
    const weights = this.#weights;
    const scores = this.#scores;
    const k = this.#key;
    if (this.#uniform) {
      for (let i = 0; i < seeds.length; i++) scores[i] = mix32(k, seeds[i]!);
    } else {
      for (let i = 0; i < seeds.length; i++) scores[i] = -weights[i]! / Math.log((mix32(k, seeds[i]!) + 0.5) / 4294967296);
    }
    this.#scored = true;
  }
}
