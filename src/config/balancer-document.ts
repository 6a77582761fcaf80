/**
 * A parsed balancer config written back as a config document's `balancer:` (what a YAML file
 * holds), so that it can travel (the directory's stream sends it to pods) and be parsed again by
 * the one parser, with every default made explicit. parseConfig(balancerDocument(c)) gives c.
 */
import type { BalancerConfig } from '../balancer/factory.js';
import type { BalancerDocument } from './schema.js';

export function balancerDocument(c: BalancerConfig): BalancerDocument {
  if (!('keyless' in c)) return c.algorithm === 'peak-ewma' ? { algorithm: c.algorithm, decayMs: c.decayMs, defaultRttMs: c.defaultRttMs } : { algorithm: c.algorithm };
  const k = c.keyless;
  const common = k.algorithm === 'peak-ewma' ? { boundedLoad: c.loadFactor, keyless: k.algorithm, decayMs: k.decayMs, defaultRttMs: k.defaultRttMs } : { boundedLoad: c.loadFactor, keyless: k.algorithm };
  switch (c.algorithm) {
    case 'ring-hash':
      return { ...common, algorithm: c.algorithm, minRingSize: c.minRingSize, maxRingSize: c.maxRingSize };
    case 'maglev':
      return { ...common, algorithm: c.algorithm, tableSize: c.tableSize };
    case 'rendezvous':
      return { ...common, algorithm: c.algorithm, table: c.table };
    case 'jump':
      return { ...common, algorithm: c.algorithm };
    case 'ordinal':
      return { ...common, algorithm: c.algorithm, replicas: c.replicas, onMissing: c.onMissing };
    case 'ranges':
      return { ...common, algorithm: c.algorithm, ranges: c.ranges.map((r) => ({ ...r })), onMissing: c.onMissing };
    case 'lookup':
      return { ...common, algorithm: c.algorithm, entries: c.entries.map((e) => ({ ...e })), onMissing: c.onMissing, default: c.default };
    default: {
      const never: never = c;
      throw new Error(`unknown algorithm ${JSON.stringify(never)}`);
    }
  }
}
