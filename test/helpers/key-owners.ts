/**
 * Which pod owns each key, as our own balancer decides it: for tests that check what a real proxy
 * did against what the algorithm says. A fresh balancer over the given endpoints, nothing in
 * flight, each key picked once and ended at once; draining endpoints are skipped as in the proxy.
 */
import { ManualClock } from '../../src/balancer/clock.js';
import type { EndpointSpec } from '../../src/balancer/endpoint.js';
import { createEndpointSet } from '../../src/balancer/endpoint.js';
import type { BalancerConfig } from '../../src/balancer/factory.js';
import { createBalancer } from '../../src/balancer/factory.js';
import { hashKey } from '../../src/balancer/hash.js';
import { seededRng } from '../../src/balancer/rng.js';

/** Key to the name of the endpoint a pick chooses for it; throws when a key gets no endpoint. */
export function expectedOwners(config: BalancerConfig, specs: readonly EndpointSpec[], keys: readonly string[]): Map<string, string> {
  const balancer = createBalancer(config, { clock: new ManualClock(0), rng: seededRng(1) });
  balancer.update(createEndpointSet(specs, 1));
  const owners = new Map<string, string>();
  for (const key of keys) {
    const p = balancer.pick(hashKey(key), null);
    if (p.kind === 'none') throw new Error(`key ${key}: no endpoint (${p.reason})`);
    p.done(0, 'cancelled');
    owners.set(key, p.endpoint.name);
  }
  return owners;
}

/** The keys whose pod differs between two maps of the same keys, sorted. */
export function movedKeys(before: ReadonlyMap<string, string>, after: ReadonlyMap<string, string>): string[] {
  const moved: string[] = [];
  for (const [key, pod] of before) if (after.get(key) !== pod) moved.push(key);
  return moved.sort();
}
