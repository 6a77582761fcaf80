/**
 * Where endpoint sets come from. A source lists, then watches, and publishes whole immutable
 * snapshots; a consumer (the proxy) swaps its tables on each one. Sources never call back from
 * inside `subscribe()`, so a consumer may subscribe before it has finished setting itself up.
 */
import type { EndpointSet } from '../balancer/endpoint.js';
import { ConfigError, ShardgateError } from '../errors.js';

export interface EndpointSource {
  /**
   * Starts delivering. `onSet` gets every new snapshot (the first one as soon as it is known),
   * always asynchronously, never twice for the same content. `onError` reports a problem that
   * left the last good set in place: the consumer keeps serving it. Returns the unsubscribe
   * function, idempotent, after which neither callback is called again.
   */
  subscribe(onSet: (set: EndpointSet) => void, onError: (error: DiscoveryError) => void): () => void;
  /** Where the source stands now, for readiness and the admin page. */
  status(): SourceStatus;
}

/**
 * `waiting`: no set yet. `synced`: the last set is what the source says now. `stale`: the last set
 * keeps serving while the source cannot be read (static stability); `error` says why.
 */
export type SourceState = 'waiting' | 'synced' | 'stale';

export interface SourceStatus {
  readonly state: SourceState;
  /** The problem being retried, or null. */
  readonly error: string | null;
}

/** The status of a source from its last set and its current problem. */
export function statusOf(set: EndpointSet | null, error: string | null): SourceStatus {
  if (set === null) return { state: 'waiting', error };
  return { state: error === null ? 'synced' : 'stale', error };
}

/** A source could not produce a new set; the previous one (if any) stays in service. */
export class DiscoveryError extends ShardgateError {
  /** What was being read: a file path, a URL. */
  readonly source: string;
  /** The field path at fault (`endpoints[1].address`), when the content was at fault. */
  readonly field: string | null;

  constructor(source: string, message: string, cause?: unknown) {
    super(cause instanceof ShardgateError ? cause.code : 'SG_ERR_DISCOVERY', message, cause === undefined ? undefined : { cause });
    this.name = 'DiscoveryError';
    this.source = source;
    this.field = cause instanceof ConfigError ? cause.field : null;
  }
}
