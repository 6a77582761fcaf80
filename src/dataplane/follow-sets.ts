/**
 * Follows an endpoint source on behalf of whoever routes with its sets (`shardgate serve`'s data
 * plane, the worker supervisor, the directory): each set is offered to `accept`, which applies it
 * or throws to refuse it. The first set decides the start: refused, `first` rejects and the
 * subscription ends, so the process exits naming why; later, a refused set is logged and the
 * previous one keeps serving. Accepted sets are logged (names for sets a person reads, a count
 * for large ones) and reported to readiness; discovery's own problems are logged as warnings.
 * The one place this is decided, for every front.
 */
import type { Logger } from 'pino';
import type { EndpointSet } from '../balancer/endpoint.js';
import type { Readiness } from '../admin/readiness.js';
import type { DiscoveryError, EndpointSource } from '../discovery/endpoint-source.js';

/** Sets with more endpoints are logged as a count alone. */
const MAX_LOGGED_ENDPOINTS = 32;

export interface SetFollower {
  /** Settles once the first set is accepted; rejects with the refusal of the first set. */
  readonly first: Promise<void>;
  /** Idempotent. */
  unsubscribe(): void;
}

export interface FollowOptions {
  readonly logger: Logger;
  /** Told of every accepted set. */
  readonly readiness?: Readiness | null;
}

export function followSets(source: EndpointSource, accept: (set: EndpointSet) => void, options: FollowOptions): SetFollower {
  const log = options.logger;
  let settle: { resolve: () => void; reject: (e: Error) => void } = { resolve: () => undefined, reject: () => undefined };
  const first = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  // Handled by whoever awaits it; this keeps a refusal after an early stop from going unhandled.
  first.catch(() => undefined);
  let waiting = true;
  let subscribed = true;
  let cancel: () => void = () => undefined;
  const unsubscribe = (): void => {
    if (!subscribed) return;
    subscribed = false;
    cancel();
  };
  cancel = source.subscribe(
    (set: EndpointSet) => {
      try {
        accept(set);
      } catch (e) {
        if (waiting) {
          unsubscribe();
          settle.reject(e instanceof Error ? e : new Error(String(e)));
          return;
        }
        log.error({ err: e, version: set.version }, 'endpoint set refused; the previous set keeps serving');
        return;
      }
      options.readiness?.accepted(set);
      const n = set.endpoints.length;
      const listed = n <= MAX_LOGGED_ENDPOINTS ? set.endpoints.map((e) => `${e.name}=${e.address}`) : undefined;
      log.info({ version: set.version, count: n, endpoints: listed }, 'endpoints');
      if (waiting) {
        waiting = false;
        settle.resolve();
      }
    },
    (error: DiscoveryError) => {
      log.warn({ source: error.source, field: error.field, code: error.code }, error.message);
    },
  );
  // The source may have published before subscribe() returned (it should not; R10): honour an
  // unsubscribe that came first.
  if (!subscribed) cancel();
  return { first, unsubscribe };
}
