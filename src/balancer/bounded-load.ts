/**
 * Consistent hashing with bounded loads (Mirrokni, Thorup, Zadimoghaddam, 2016; arXiv 1608.01350).
 * With c > 1, an endpoint accepts a new request only while its in-flight count after accepting stays
 * within ceil(c x average), the average taken over available endpoints and including the new
 * request, scaled by the endpoint's share of weight. The sum of all bounds is at least c x (T + 1),
 * so some endpoint always has room. A key that finds its owner full walks its own preference order,
 * so a hot key spills to the same next endpoints every time (as Envoy's and HAProxy's
 * `hash-balance-factor` do).
 */
import { ConfigError } from '../errors.js';

/** The most requests an endpoint of weight `w` may hold once the new request is added. */
export function loadBound(factor: number, totalInflight: number, weight: number, availableWeight: number): number {
  // ceil of a product that should be integral can land a hair above it in floating point; the
  // epsilon keeps ceil(1.25 * 8 * 1/2) = 5, not 6.
  const b = Math.ceil((factor * (totalInflight + 1) * weight) / availableWeight - 1e-9);
  return b < 1 ? 1 : b;
}

export function validateLoadFactor(factor: number, field: string): number {
  if (!Number.isFinite(factor) || factor <= 1 || factor > 100) {
    throw new ConfigError('SG_ERR_BALANCER', field, `is ${String(factor)}: the bounded-load factor c must be above 1 (no endpoint above c x average); 1.25 is a common choice (HAProxy's hash-balance-factor 125)`);
  }
  return factor;
}
