/**
 * What every algorithm asks of a candidate before sending it a request: in rotation (not
 * draining, ejected or failing health checks), below its in-flight limit, and not excluded by the
 * caller (a retry's earlier tries). One place, so that no algorithm can forget the limit.
 */
import type { Exclusion, NoPick } from './balancer.js';
import { NO_PICK } from './balancer.js';
import type { EndpointLoad } from './load-board.js';

export function usable(load: EndpointLoad, exclude: Exclusion | null): boolean {
  return load.available && load.inflight < load.limit && (exclude === null || !exclude.has(load.endpoint));
}

/** The first usable endpoint at or after `start`, wrapping around; -1 when there is none. */
export function firstUsableFrom(loads: readonly EndpointLoad[], start: number, exclude: Exclusion | null): number {
  const n = loads.length;
  for (let step = 0; step < n; step++) {
    const i = (start + step) % n;
    if (usable(loads[i]!, exclude)) return i;
  }
  return -1;
}

/**
 * Why a pick found no usable endpoint among `loads`: `saturated` when one is in rotation and not
 * excluded (so only its limit stood in the way, and a wait can help), else `all-unavailable`.
 * For the failure path only: O(n), but no allocation.
 */
export function noUsable(loads: readonly EndpointLoad[], exclude: Exclusion | null): NoPick {
  for (let i = 0; i < loads.length; i++) {
    const l = loads[i]!;
    if (l.available && (exclude === null || !exclude.has(l.endpoint))) return NO_PICK.saturated;
  }
  return NO_PICK['all-unavailable'];
}
