/**
 * The directory's answer for one key: its home (the endpoint a proxy over the same set routes it
 * to when nothing is in flight), where it goes next (retries and spills), and the generation the
 * answer holds for. Homes only: a proxy spills a key past a full owner (bounded loads, in-flight
 * limits) and past endpoints it has ejected, which depend on live state that no directory sees.
 */
import type { NoPickReason } from '../balancer/balancer.js';
import type { RoutingKey } from '../balancer/hash.js';
import type { HashingBalancer } from '../balancer/hashing-balancer.js';
import type { Assignment } from './assignment.js';
import { routeOrder } from './assignment.js';
import { ordinalOf } from './membership.js';

/** Names in `preference` unless asked for more. */
export const DEFAULT_PREFERENCE = 3;
export const MAX_PREFERENCE = 64;

export interface OwnerAnswer {
  /** The key text as given (before any key transform). */
  readonly key: string;
  /** The home's name, or null when the key has none (see `reason`). */
  readonly endpoint: string | null;
  readonly address: string | null;
  /** The home's StatefulSet ordinal (`-N` at the end of its name), or null. */
  readonly ordinal: number | null;
  readonly zone: string | null;
  /** The first endpoints the key tries: its home, then where a retry or a spill goes. Draining ones are left out. */
  readonly preference: readonly string[];
  /** Why the key has no home (a proxy answers 503 with it), or null. */
  readonly reason: NoPickReason | null;
  /** The directory's count of the sets it applied. */
  readonly generation: number;
  /** The endpoint set's version, as discovery numbered it. */
  readonly version: number;
  /** membershipOf the set: equal in every process with the same membership. */
  readonly membership: string;
}

/** The answer for `key` (read from `text`) by `balancer`, for the generation `at`. */
export function ownerAnswer(text: string, key: RoutingKey, balancer: HashingBalancer, at: Assignment, count: number): OwnerAnswer {
  const meta = { generation: at.generation, version: at.set.version, membership: at.membership };
  const home = balancer.home(key);
  if ('kind' in home) return { key: text, endpoint: null, address: null, ordinal: null, zone: null, preference: [], reason: home.reason, ...meta };
  return {
    key: text,
    endpoint: home.name,
    address: home.address,
    ordinal: ordinalOf(home.name),
    zone: home.zone,
    preference: routeOrder(balancer, key, count).map((e) => e.name),
    reason: null,
    ...meta,
  };
}
