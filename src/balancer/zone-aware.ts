/**
 * Zone-aware routing for requests without a key: prefer endpoints in the proxy's own zone
 * (`topology.kubernetes.io/zone`), as Envoy's zone-aware routing and Kubernetes' topology-aware
 * routing do, to save cross-zone latency and transfer cost. Keyed requests never come here: a
 * key's owner is the same whatever the caller's zone, so two proxies in different zones agree on
 * every owner (the hashing balancer picks keyed requests before its keyless fallback, which this
 * wraps).
 *
 * The rule. Envoy (docs: arch_overview/upstream/load_balancing/zone_aware) routes locally with
 * probability upstream-local-share / originating-local-share, which needs the membership of the
 * originating cluster (`local_cluster_name`): how many callers sit in each zone. A shardgate proxy
 * knows only its own zone, so it keeps the part of Envoy's rule it can know: each available
 * own-zone endpoint keeps the share of requests it would have with every own-zone endpoint up.
 * A request stays in the zone with probability
 *
 *     available own-zone weight / total own-zone weight
 *
 * (1 while the zone is whole, so a healthy zone costs no random draw), and the rest goes to the
 * other zones, spread by the same algorithm over them. With 3 pods in the zone and one ejected,
 * two thirds stay, and each of the two left gets a third as before; the failed pod's share crosses
 * zones instead of doubling up on its neighbours. Draining, ejected and health-check-failed
 * endpoints all count as unavailable.
 *
 * Fallbacks to every zone at once (the wrapped algorithm over the whole set):
 * - the own zone has fewer than `minEndpoints` endpoints (Envoy's min_cluster_size, whose default
 *   of 6 counts the whole cluster; here the own zone, default 1, since a StatefulSet spreads one
 *   or two pods per zone and a larger default would turn the preference off for most of them);
 * - the own-zone pick found no room (every own-zone endpoint at `maxInflight`: `saturated`), or
 *   none it may use (a retry excluded them): overload spills rather than waits;
 * - the other zones have nothing usable for a spilled request.
 * No endpoint in the own zone, every endpoint in it, or no zone known for any endpoint: the
 * preference is off and picks are exactly the wrapped algorithm's, random draws included.
 *
 * Cost: update() filters the set twice, O(n), and updates three balancers of the wrapped
 * algorithm (the whole set, the own zone, the others), each over a view of one load board, so an
 * endpoint's in-flight count, marks and latency are one whichever of them picked it. pick(): one
 * random draw when the own zone is not whole, then the wrapped algorithm's pick; no allocation.
 */
import type { Balancer, Exclusion, PickResult } from './balancer.js';
import type { Endpoint, EndpointSet } from './endpoint.js';
import { EMPTY_SET, filterEndpointSet } from './endpoint.js';
import type { RoutingKey } from './hash.js';
import type { LoadBoard } from './load-board.js';
import type { Rng } from './rng.js';
import { ConfigError } from '../errors.js';

export interface ZonePreference {
  /** The proxy's own zone, as endpoints name theirs. */
  readonly zone: string;
  /** Fewest endpoints the own zone must have for the preference to apply (Envoy's min_cluster_size). */
  readonly minEndpoints: number;
}

export const DEFAULT_ZONE_MIN_ENDPOINTS = 1;
export const MAX_ZONE_MIN_ENDPOINTS = 10_000;

/** Builds the wrapped algorithm over a board (the root, or a view of one zone's endpoints). */
export type KeylessBuilder = (board: LoadBoard) => Balancer;

export interface ZoneStats {
  /** Picks served in the own zone. */
  local: number;
  /** Picks sent to other zones because part of the own zone was unavailable. */
  spilled: number;
  /** Picks that fell back to every zone (own zone saturated or excluded, other zones with nothing usable). */
  fallbacks: number;
}

export class ZoneAwareBalancer implements Balancer {
  readonly algorithm: string;
  readonly keyed = false;
  readonly zone: string;
  readonly minEndpoints: number;
  readonly stats: ZoneStats = { local: 0, spilled: 0, fallbacks: 0 };
  readonly #make: KeylessBuilder;
  readonly #board: LoadBoard;
  readonly #rng: Rng;
  readonly #all: Balancer;
  readonly #inZone: (e: Endpoint) => boolean;
  readonly #outOfZone: (e: Endpoint) => boolean;
  #local: Balancer | null = null;
  #localBoard: LoadBoard | null = null;
  #remote: Balancer | null = null;
  #set: EndpointSet | null = null;
  #active = false;
  /** Weight of every own-zone endpoint, available or not. */
  #localWeight = 0;

  /**
   * `make` builds the wrapped algorithm; it is called at once for the whole set (on `board`), and
   * for the zones only once the preference first applies, so that until then the random stream
   * is the wrapped algorithm's alone.
   * @throws ConfigError naming `zone` or `zoneMinEndpoints` when the preference is unusable
   */
  constructor(make: KeylessBuilder, board: LoadBoard, rng: Rng, preference: ZonePreference) {
    this.zone = validateZone(preference.zone, 'zone');
    this.minEndpoints = validateZoneMinEndpoints(preference.minEndpoints, 'zoneMinEndpoints');
    this.#make = make;
    this.#board = board;
    this.#rng = rng;
    this.#all = make(board);
    this.algorithm = this.#all.algorithm;
    const zone = this.zone;
    this.#inZone = (e) => e.zone === zone;
    this.#outOfZone = (e) => e.zone !== zone;
  }

  /** Whether the own-zone preference applies to the current set. */
  get active(): boolean {
    return this.#active;
  }

  update(set: EndpointSet): void {
    if (set === this.#set) return;
    this.#all.update(set);
    this.#set = set;
    let count = 0;
    let weight = 0;
    for (const e of set.endpoints) {
      if (e.zone !== this.zone) continue;
      count++;
      weight += e.weight;
    }
    const active = count > 0 && count >= this.minEndpoints && count < set.endpoints.length;
    if (!active) {
      if (this.#local !== null) {
        // Off: the zone balancers keep no endpoint, so their views hold no link to any load.
        this.#local.update(EMPTY_SET);
        this.#remote!.update(EMPTY_SET);
      }
      this.#active = false;
      return;
    }
    if (this.#local === null) {
      this.#localBoard = this.#board.view();
      this.#local = this.#make(this.#localBoard);
      this.#remote = this.#make(this.#board.view());
    }
    this.#local.update(filterEndpointSet(set, this.#inZone));
    this.#remote!.update(filterEndpointSet(set, this.#outOfZone));
    this.#localWeight = weight;
    this.#active = true;
  }

  pick(key: RoutingKey | null, exclude: Exclusion | null): PickResult {
    if (!this.#active) return this.#all.pick(key, exclude);
    const available = this.#localBoard!.availableWeight;
    const total = this.#localWeight;
    if (available > 0 && (available === total || this.#rng.below(total) < available)) {
      const p = this.#local!.pick(null, exclude);
      if (p.kind === 'ok') {
        this.stats.local++;
        return p;
      }
    } else {
      const p = this.#remote!.pick(null, exclude);
      if (p.kind === 'ok') {
        this.stats.spilled++;
        return p;
      }
    }
    this.stats.fallbacks++;
    return this.#all.pick(null, exclude);
  }
}

/** @throws ConfigError naming `field` when the zone is not a non-empty string */
export function validateZone(zone: unknown, field: string): string {
  if (typeof zone !== 'string' || zone.length === 0) {
    throw new ConfigError('SG_ERR_CONFIG', field, `is ${JSON.stringify(zone)}: give the zone this proxy runs in, as endpoints name theirs (topology.kubernetes.io/zone, for example eu-west-1a)`);
  }
  return zone;
}

/** @throws ConfigError naming `field` when the minimum is not an integer from 1 to MAX_ZONE_MIN_ENDPOINTS */
export function validateZoneMinEndpoints(n: unknown, field: string): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_ZONE_MIN_ENDPOINTS) {
    throw new ConfigError('SG_ERR_CONFIG', field, `is ${String(n)}: the fewest endpoints the own zone needs before requests prefer it must be an integer from 1 to ${MAX_ZONE_MIN_ENDPOINTS}; ${DEFAULT_ZONE_MIN_ENDPOINTS} (the default) prefers any zone that has an endpoint, Envoy's min_cluster_size is 6`);
  }
  return n;
}
