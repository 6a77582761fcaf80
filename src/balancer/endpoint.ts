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

/**
 * The longest endpoint name: a DNS subdomain's length, which bounds a Kubernetes pod name.
 * Together with NAME_CHARACTER, what every source's names are checked against, here, since every
 * set is built by createEndpointSet.
 */
export const MAX_NAME_LENGTH = 253;

/**
 * Visible ASCII (VCHAR, RFC 5234): a name is sent in the x-shardgate-endpoint header, where Node
 * refuses control characters and anything past Latin-1, and where Latin-1 (obs-text) and spaces,
 * though allowed, are read differently by different clients (spaces at the ends are dropped).
 * Pod names (DNS-1123) and the host:port names of `dns:` discovery fit.
 */
const NAME_CHARACTER = /^[\x21-\x7e]$/;
const NAME_RULE = `an endpoint name is sent in the x-shardgate-endpoint header, so it may hold only visible ASCII (letters, digits and punctuation; no spaces, control or non-ASCII characters), at most ${MAX_NAME_LENGTH} of them, as pod names (sharded-svc-0) and addresses (10.0.0.7:8080) do`;

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
    const refusal = nameRefusal(s.name);
    if (refusal !== null) throw new ConfigError('SG_ERR_ENDPOINTS', `${field}[${i}].name`, refusal);
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

/** Why `name` cannot be an endpoint's name (the sentence after the field), or null when it can. */
function nameRefusal(name: string): string | null {
  const chars = [...name];
  if (chars.length > MAX_NAME_LENGTH) return `is ${JSON.stringify(`${name.slice(0, 57)}...`)}: it has ${chars.length} characters: ${NAME_RULE}`;
  const at = chars.findIndex((c) => !NAME_CHARACTER.test(c));
  if (at < 0) return null;
  const c = chars[at]!;
  const code = `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
  return `is ${JSON.stringify(name)}: ${JSON.stringify(c)} (${code}) at position ${at + 1} is not allowed: ${NAME_RULE}`;
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
