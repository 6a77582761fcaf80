/**
 * Keys to measure ownership with where it cannot be computed exactly: routing keys (what a key
 * becomes after any key transform) spread over the key space the algorithm reads. Hashing
 * algorithms read a hash of the text, so any distinct texts spread evenly (`key-0`, `key-1`...);
 * ordinal reads decimal keys as numbers, so consecutive numbers cover every residue equally; key
 * ranges read numbers, so they are spread evenly from the lowest range start to the highest end.
 * Built once per directory and reused: the same samples make two measurements comparable.
 */
import type { KeyedConfig } from '../balancer/factory.js';
import type { RoutingKey } from '../balancer/hash.js';
import { hashKey } from '../balancer/hash.js';

export const DEFAULT_SAMPLES = 32_768;
export const MAX_SAMPLES = 1_048_576;

export function sampleKeys(config: KeyedConfig, count: number): RoutingKey[] {
  const out = new Array<RoutingKey>(count);
  if (config.algorithm === 'ranges' && config.ranges.length > 0) {
    let low = Number.MAX_SAFE_INTEGER;
    let high = 0;
    for (const r of config.ranges) {
      low = Math.min(low, r.from);
      high = Math.max(high, r.to);
    }
    const span = high - low + 1;
    for (let i = 0; i < count; i++) out[i] = hashKey(String(low + Math.floor((i * span) / count)));
    return out;
  }
  const numeric = config.algorithm === 'ordinal';
  for (let i = 0; i < count; i++) out[i] = hashKey(numeric ? String(i) : `key-${i}`);
  return out;
}
