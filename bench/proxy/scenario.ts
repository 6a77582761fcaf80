/**
 * The shared vocabulary of bench:proxy: the pods, the two ways of balancing every proxy is
 * configured for, and the load shapes each is driven with. Every target is configured from these
 * values, so that the proxies stay equivalent when one of them changes.
 */

/** Header that carries the key in hashing mode, read by every proxy. */
export const KEY_HEADER = 'x-key';

/** Bounded-loads factor c: HAProxy's hash-balance-factor 125, shardgate's --bounded-load 1.25. */
export const BOUNDED_LOAD = 1.25;

/** Delay of every pod's answer during the hot-key test, so that requests overlap on the pods. */
export const SLOW_POD_DELAY_MS = 20;

/** Connections of the hot-key test, all with one key. */
export const HOT_KEY_CONNECTIONS = 64;

/** Distinct keys that the hashing-mode load cycles through. */
export const KEY_COUNT = 10_000;

/** Idle connections held by the client in the memory test, unless BENCH_IDLE_CONNECTIONS says otherwise. */
export const IDLE_CONNECTIONS = 10_000;

/**
 * Idle timeouts, in seconds, that every proxy gets for its clients: shardgate's clientIdleMs
 * default, long enough that the idle connections test never sees a proxy close one.
 */
export const CLIENT_IDLE_TIMEOUT_S = 60;

/** shardgate's clientHeadersMs default, given to the others as their request-head timeout. */
export const CLIENT_HEADERS_TIMEOUT_S = 10;

/** shardgate's upstreamHeadersMs default. */
export const UPSTREAM_TIMEOUT_S = 30;

/** shardgate's connectMs default. */
export const CONNECT_TIMEOUT_S = 2;

/** Every request to the next pod in turn, or the pod that owns the request's key header. */
export type BalanceMode = 'round-robin' | 'hash';

export const BALANCE_MODES: readonly BalanceMode[] = ['round-robin', 'hash'];

/**
 * The load shapes: HTTP/1.1 keep-alive at 1 and 64 connections (wrk), and h2c with prior
 * knowledge at 1 connection x 64 streams (h2load).
 */
export type LoadName = 'h1-1' | 'h1-64' | 'h2-64';

export interface LoadShape {
  readonly name: LoadName;
  readonly label: string;
  readonly protocol: 'h1' | 'h2c';
  readonly connections: number;
  /** Concurrent streams per connection (1 for HTTP/1.1). */
  readonly streams: number;
}

export const LOADS: readonly LoadShape[] = [
  { name: 'h1-1', label: 'HTTP/1.1, 1 conn', protocol: 'h1', connections: 1, streams: 1 },
  { name: 'h1-64', label: 'HTTP/1.1, 64 conns', protocol: 'h1', connections: 64, streams: 1 },
  { name: 'h2-64', label: 'h2c, 1 conn x 64 streams', protocol: 'h2c', connections: 1, streams: 64 },
];

/** ceil(c x average): the most in-flight requests bounded loads allow on one pod. */
export function boundedLoadLimit(inFlight: number, pods: number, factor = BOUNDED_LOAD): number {
  // Integer arithmetic in hundredths, as HAProxy computes it, so that 1.25 x 16 is exactly 20.
  return Math.ceil((inFlight * Math.round(factor * 100)) / (pods * 100));
}
