/**
 * Endpoints and endpoint sets. A set is an immutable, versioned snapshot, sorted by name and
 * replaced whole: discovery builds a new one, balancers rebuild their tables from it off the pick
 * path. Keys belong to endpoint NAMES (pod names), never to addresses, so a pod that comes back
 * with a new IP keeps every key it owned.
 */
import { ConfigError } from '../errors.js';

export interface EndpointSpec {
  /** Identity: the pod name (for a StatefulSet, `sharded-svc-2`). Keys are owned by it. */
  readonly name: string;
  /** Where to send requests: `host:port`, `[v6]:port`, or a URL (`http://host:port`). */
  readonly address: string;
  /** Relative capacity, an integer from 1 to MAX_WEIGHT; 1 when absent. */
  readonly weight?: number;
  /** Locality: `topology.kubernetes.io/zone` of the pod's node, for zone-aware routing. */
  readonly zone?: string | null;
  /** The node the pod runs on (EndpointSlice `nodeName`), for diagnostics and locality. */
  readonly node?: string | null;
  /** Labels a subset selects on (`version: v2`); none when absent. */
  readonly labels?: Readonly<Record<string, string>>;
  /** Serving but leaving (a terminating pod): gets no new requests, in-flight ones finish. */
  readonly draining?: boolean;
}

export interface Endpoint {
  readonly name: string;
  readonly address: string;
  readonly weight: number;
  readonly zone: string | null;
  readonly node: string | null;
  readonly labels: Readonly<Record<string, string>>;
  readonly draining: boolean;
  /** Position in its set's `endpoints` (sorted by name). */
  readonly index: number;
}

export interface EndpointSet {
  readonly version: number;
  readonly endpoints: readonly Endpoint[];
  readonly byName: ReadonlyMap<string, Endpoint>;
  readonly totalWeight: number;
}

export const MAX_WEIGHT = 10_000;

const NO_LABELS: Readonly<Record<string, string>> = Object.freeze({});

/**
 * Validates specs and builds a frozen set sorted by name. The order of `specs` never matters: two
 * sets built from the same endpoints in any order are equal, so every instance agrees on owners.
 * @throws ConfigError naming the bad entry (`${field}[i].name` and so on)
 */
export function createEndpointSet(specs: readonly EndpointSpec[], version = 0, field = 'endpoints'): EndpointSet {
  const seen = new Set<string>();
  specs.forEach((s, i) => {
    if (typeof s.name !== 'string' || s.name.length === 0) {
      throw new ConfigError('SG_ERR_ENDPOINTS', `${field}[${i}].name`, `is ${JSON.stringify(s.name)}: every endpoint needs a non-empty name (the pod name)`);
    }
    if (seen.has(s.name)) {
      throw new ConfigError('SG_ERR_ENDPOINTS', `${field}[${i}].name`, `"${s.name}" appears twice: endpoint names own keys and must be unique`);
    }
    seen.add(s.name);
    if (typeof s.address !== 'string' || s.address.length === 0) {
      throw new ConfigError('SG_ERR_ENDPOINTS', `${field}[${i}].address`, `is ${JSON.stringify(s.address)} for "${s.name}": give host:port, for example 127.0.0.1:9000`);
    }
    if (s.labels !== undefined) {
      for (const [k, v] of Object.entries(s.labels)) {
        if (k.length === 0 || typeof v !== 'string') {
          throw new ConfigError('SG_ERR_ENDPOINTS', `${field}[${i}].labels`, `has ${JSON.stringify(k)}: ${JSON.stringify(v)} for "${s.name}": labels map non-empty names to strings, for example version: v2`);
        }
      }
    }
    const w = s.weight ?? 1;
    if (!Number.isInteger(w) || w < 1 || w > MAX_WEIGHT) {
      throw new ConfigError('SG_ERR_ENDPOINTS', `${field}[${i}].weight`, `is ${String(w)} for "${s.name}": use an integer from 1 to ${MAX_WEIGHT}`);
    }
  });
  const sorted = [...specs].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  let totalWeight = 0;
  const endpoints = sorted.map((s, index): Endpoint => {
    const weight = s.weight ?? 1;
    totalWeight += weight;
    const labels = s.labels === undefined || Object.keys(s.labels).length === 0 ? NO_LABELS : Object.freeze({ ...s.labels });
    return Object.freeze({ name: s.name, address: s.address, weight, zone: s.zone ?? null, node: s.node ?? null, labels, draining: s.draining ?? false, index });
  });
  Object.freeze(endpoints);
  return Object.freeze({ version, endpoints, byName: new Map(endpoints.map((e) => [e.name, e])), totalWeight });
}

/** The spec an endpoint was built from, to send a set elsewhere (a worker thread) or rebuild it. */
export function specOf(e: Endpoint): EndpointSpec {
  return { name: e.name, address: e.address, weight: e.weight, zone: e.zone, node: e.node, labels: e.labels, draining: e.draining };
}

/** True when two endpoints carry the same labels. */
export function sameLabels(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  if (a === b) return true;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) if (a[k] !== b[k]) return false;
  return true;
}

/**
 * The endpoints of `set` that `keep` accepts, as a set of their own: same names, weights and
 * order, indexed anew, same version. For the parts of a set a balancer serves alone (one zone,
 * one subset); built off the pick path, O(n).
 */
export function filterEndpointSet(set: EndpointSet, keep: (e: Endpoint) => boolean): EndpointSet {
  const endpoints: Endpoint[] = [];
  let totalWeight = 0;
  for (const e of set.endpoints) {
    if (!keep(e)) continue;
    endpoints.push(Object.freeze({ ...e, index: endpoints.length }));
    totalWeight += e.weight;
  }
  Object.freeze(endpoints);
  return Object.freeze({ version: set.version, endpoints, byName: new Map(endpoints.map((e) => [e.name, e])), totalWeight });
}

export const EMPTY_SET: EndpointSet = createEndpointSet([], -1);
