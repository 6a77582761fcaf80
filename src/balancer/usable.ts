/** What every algorithm asks of a candidate before sending it a request. */
import type { Exclusion } from './balancer.js';
import type { EndpointLoad } from './load-board.js';

export function usable(load: EndpointLoad, exclude: Exclusion | null): boolean {
  return load.available && (exclude === null || !exclude.has(load.endpoint));
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
