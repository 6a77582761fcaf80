/**
 * The naive sharding rule the talk starts from, `endpoints[hash(key) % n]`, as a Balancer so that
 * the demo can route real requests with it beside ring hash. It spreads keys well while n is fixed,
 * but when n changes almost every key changes owner (about 1 - 1/n of them for 4 -> 3): the reason
 * consistent hashing exists. Not offered by shardgate's factory; it is here to be compared against.
 *
 * Uses the one key hash (src/balancer/hash.ts), so its owners are computed from the same numbers as
 * every other algorithm's. update(): O(1); pick(): O(1), no allocation. A missing owner is a
 * NoPick, not a fallback: the point of the rule is that it has none.
 */
import type { Balancer, Exclusion, PickResult } from '../balancer/balancer.js';
import { NO_PICK } from '../balancer/balancer.js';
import type { Endpoint, EndpointSet } from '../balancer/endpoint.js';
import type { RoutingKey } from '../balancer/hash.js';
import { hashMod } from '../balancer/hash.js';
import type { LoadBoard } from '../balancer/load-board.js';
import { usable } from '../balancer/usable.js';

export class ModuloBalancer implements Balancer {
  readonly algorithm = 'hash-mod-n';
  readonly keyed = true;
  readonly #board: LoadBoard;
  #set: EndpointSet | null = null;

  constructor(board: LoadBoard) {
    this.#board = board;
  }

  update(set: EndpointSet): void {
    this.#board.sync(set);
    this.#set = set;
  }

  pick(key: RoutingKey | null, exclude: Exclusion | null): PickResult {
    if (key === null) return NO_PICK['no-key'];
    const board = this.#board;
    const n = board.loads.length;
    if (n === 0) return NO_PICK.empty;
    const i = hashMod(key.hi, key.lo, n);
    const l = board.loads[i]!;
    if (usable(l, exclude)) return board.begin(i);
    // An owner in rotation but at its in-flight limit is worth waiting for; any other is missing.
    return l.available && (exclude === null || !exclude.has(l.endpoint)) ? NO_PICK.saturated : NO_PICK['owner-missing'];
  }

  /** The endpoint that owns `key` in the current set, as `HashingBalancer.owner` answers it. */
  owner(key: RoutingKey): Endpoint | null {
    const eps = this.#set?.endpoints;
    if (eps === undefined || eps.length === 0) return null;
    return eps[hashMod(key.hi, key.lo, eps.length)]!;
  }
}
