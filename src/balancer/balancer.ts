/**
 * The one interface every algorithm implements. The proxy, the client library and the lookup API
 * all pick through it, so they agree on who owns a key.
 *
 * Contract:
 * - `update(set)` is called off the pick path whenever the endpoint set changes; it builds the new
 *   table and publishes it in one assignment. Idempotent for the same set version.
 * - `pick(key, exclude)` is synchronous, never throws and allocates nothing: "no endpoint" is a
 *   result (`NoPick`), not an exception. A `null` key means the request has none.
 * - Every `Pick` is ended by exactly one call of its `done`, which feeds in-flight counts and
 *   latency (peak-EWMA); the owner reports the same outcome to passive health
 *   (outlier-detector.ts). Pick objects are built in `update()` and shared by all requests to the
 *   same endpoint, so `done` takes the request's own start time.
 */
import type { Endpoint, EndpointSet } from './endpoint.js';
import type { RoutingKey } from './hash.js';

/** How a request to an endpoint ended, as the data plane classified it. */
export type Outcome = 'ok' | 'http-5xx' | 'connect-failed' | 'reset' | 'timeout' | 'cancelled';

export interface Pick {
  readonly kind: 'ok';
  readonly endpoint: Endpoint;
  /** Call exactly once when the request ends; `startedMs` is the balancer clock's time at pick. */
  readonly done: (startedMs: number, outcome: Outcome) => void;
}

export type NoPickReason =
  /** The endpoint set is empty. */
  | 'empty'
  /** Endpoints exist, but all are draining, excluded, ejected or failing health checks. */
  | 'all-unavailable'
  /**
   * Endpoints are available, but every one the request may use is at its `maxInflight` limit. A
   * moment's wait can help: the load board's `onCapacity` hook says when one finishes a request.
   */
  | 'saturated'
  /** The key's owner (a StatefulSet ordinal, a range's or a lookup entry's endpoint) is missing and the policy is to fail, not to move the key. */
  | 'owner-missing'
  /** No configured key range or lookup entry holds the key. */
  | 'no-range'
  /** A keyed algorithm got a request without a key and no keyless fallback was configured. */
  | 'no-key';

export interface NoPick {
  readonly kind: 'none';
  readonly reason: NoPickReason;
}

export type PickResult = Pick | NoPick;

/** Endpoints a pick must not choose (the ones a retry already tried). `Set<Endpoint>` fits. */
export interface Exclusion {
  has(endpoint: Endpoint): boolean;
}

export interface Balancer {
  /** The algorithm's name as configured (`ring-hash`, `p2c`, ...). */
  readonly algorithm: string;
  /** True when the algorithm routes by key (every hashing one, ordinal, ranges). */
  readonly keyed: boolean;
  update(set: EndpointSet): void;
  pick(key: RoutingKey | null, exclude: Exclusion | null): PickResult;
}

export const NO_PICK = {
  empty: Object.freeze({ kind: 'none', reason: 'empty' }),
  'all-unavailable': Object.freeze({ kind: 'none', reason: 'all-unavailable' }),
  saturated: Object.freeze({ kind: 'none', reason: 'saturated' }),
  'owner-missing': Object.freeze({ kind: 'none', reason: 'owner-missing' }),
  'no-range': Object.freeze({ kind: 'none', reason: 'no-range' }),
  'no-key': Object.freeze({ kind: 'none', reason: 'no-key' }),
} as const satisfies Record<NoPickReason, NoPick>;
