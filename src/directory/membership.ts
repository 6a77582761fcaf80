/**
 * What a set says about ownership, in forms that travel: the members as the directory lists them
 * (name, address, ordinal, zone, weight, draining), and a fingerprint of exactly what decides
 * owners (names, weights, draining flags), equal in every process that holds the same membership
 * whatever its own set version or generation count. Two routers (a proxy, a client, a pod)
 * agree on every owner when their fingerprints and configs agree.
 */
import type { Endpoint, EndpointSet } from '../balancer/endpoint.js';
import { hash64 } from '../balancer/hash.js';
import { parseOrdinal } from '../balancer/ordinal.js';

export interface Member {
  /** The endpoint's name: what owns keys. */
  readonly endpoint: string;
  readonly address: string;
  /** The StatefulSet ordinal of the name (`sharded-svc-2` -> 2), or null when it has none. */
  readonly ordinal: number | null;
  readonly zone: string | null;
  readonly weight: number;
  /** Leaving: it gets no new requests, so it is no key's home. */
  readonly draining: boolean;
}

/** The ordinal of a pod name, or null (the ordinal balancer's own reading of names). */
export function ordinalOf(name: string): number | null {
  const o = parseOrdinal(name);
  return o < 0 ? null : o;
}

export function memberOf(e: Endpoint): Member {
  return { endpoint: e.name, address: e.address, ordinal: ordinalOf(e.name), zone: e.zone, weight: e.weight, draining: e.draining };
}

export function membersOf(set: EndpointSet): Member[] {
  return set.endpoints.map(memberOf);
}

/**
 * 16 hex digits of xxHash64 over the names, weights and draining flags in name order: the same
 * for the same membership in every process. Addresses, zones and labels own no keys and are left
 * out, so a pod back at a new IP keeps the fingerprint.
 */
export function membershipOf(set: EndpointSet): string {
  let text = '';
  // Tab and newline cannot occur in a name (visible ASCII only), so the text has one reading.
  for (const e of set.endpoints) text += `${e.name}\t${e.weight}\t${e.draining ? 1 : 0}\n`;
  return hash64(text).toString(16).padStart(16, '0');
}
