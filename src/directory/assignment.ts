/**
 * One generation of key ownership: an endpoint set and a balancer of the configured algorithm
 * built over it alone. It keeps answering for its generation after newer sets arrive, which a
 * router's own balancer (updated in place) cannot: the directory compares the last two, a pod
 * compares the generation it took keys under with the new one, and a plan builds one for a set
 * that does not exist yet.
 *
 * Answers are homes (HashingBalancer.home): where a pick sends a key with nothing in flight and
 * only the set's draining endpoints out of rotation. Built off any request path: update() of the
 * algorithm's table (a ring of 400 nodes per unit of weight, a maglev table), plus one idle load
 * board that nothing ever claims from.
 */
import { ManualClock } from '../balancer/clock.js';
import type { NoPick } from '../balancer/balancer.js';
import type { Endpoint, EndpointSet } from '../balancer/endpoint.js';
import type { BalancerConfig, KeyedConfig } from '../balancer/factory.js';
import { createBalancer } from '../balancer/factory.js';
import type { RoutingKey } from '../balancer/hash.js';
import { HashingBalancer } from '../balancer/hashing-balancer.js';
import { LoadBoard } from '../balancer/load-board.js';
import { seededRng } from '../balancer/rng.js';
import { RingHash } from '../balancer/ring-hash.js';
import { membershipOf } from './membership.js';
import type { RingHomes } from './ring-arcs.js';
import { ringHomes } from './ring-arcs.js';

export class Assignment {
  /** Counts the sets its owner (a directory, a pod's helper) applied; 1 for the first. */
  readonly generation: number;
  readonly set: EndpointSet;
  readonly config: KeyedConfig;
  /** membershipOf(set): equal across processes for the same membership. */
  readonly membership: string;
  readonly balancer: HashingBalancer;
  #ring: RingHomes | null | undefined = undefined;

  constructor(config: KeyedConfig, set: EndpointSet, generation: number) {
    this.generation = generation;
    this.set = set;
    this.config = config;
    this.membership = membershipOf(set);
    // Time and randomness play no part in a home: the clock never moves, the seed is fixed.
    const clock = new ManualClock(0);
    const balancer = createBalancer(config, { clock, rng: seededRng(1), board: new LoadBoard(clock) });
    if (!(balancer instanceof HashingBalancer)) throw new Error(`${config.algorithm} built no hashing balancer`);
    balancer.update(set);
    this.balancer = balancer;
  }

  home(key: RoutingKey): Endpoint | NoPick {
    return this.balancer.home(key);
  }

  /** Ring hash: every arc of the ring with its home (ring-arcs.ts); null for other algorithms. Built on first use. */
  get ring(): RingHomes | null {
    if (this.#ring === undefined) {
      const c = this.config;
      const set = this.set;
      if (c.algorithm !== 'ring-hash') this.#ring = null;
      else if (set.endpoints.length === 0) this.#ring = { positions: new Uint32Array(0), homes: new Int32Array(0) };
      // The same builder and options as the balancer's own table, so the arcs are its arcs.
      else this.#ring = ringHomes(new RingHash(c.minRingSize, c.maxRingSize).build(set), set);
    }
    return this.#ring;
  }
}

/** The config as a keyed one, or null for a keyless algorithm (no key has an owner). */
export function keyedConfig(config: BalancerConfig): KeyedConfig | null {
  return 'keyless' in config ? config : null;
}

/**
 * The first `count` endpoints a key tries, in order, leaving out draining ones as picks do: the
 * home, then where a retry or a spill goes. Empty when the key has no home.
 */
export function routeOrder(balancer: HashingBalancer, key: RoutingKey, count: number): Endpoint[] {
  const out: Endpoint[] = [];
  const all = balancer.preference(key, Number.MAX_SAFE_INTEGER);
  for (const e of all) {
    if (out.length === count) break;
    if (!e.draining) out.push(e);
  }
  return out;
}
