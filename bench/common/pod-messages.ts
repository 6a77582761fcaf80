/** What the pods process and the benchmark say to each other over IPC, and the headers pods read. */

/** A request's unique id, which a pod writes to its seen log. */
export const REQUEST_ID_HEADER = 'x-request-id';
/** Asks a pod for a body of this many bytes. */
export const DOWNLOAD_HEADER = 'x-download-bytes';
/** Asks a pod to answer this many milliseconds late (or its own delay, if longer). */
export const DELAY_HEADER = 'x-delay-ms';

export interface PodAddress {
  /** pod-0, pod-1, ...: the name owns the keys. */
  readonly name: string;
  readonly port: number;
}

export interface PodStats {
  readonly name: string;
  readonly requests: number;
  readonly inFlight: number;
  /** Most requests in flight at once since the last reset. */
  readonly peakInFlight: number;
}

/**
 * What a pod does with what it gets:
 * - `serve`: answers every request (the normal pod);
 * - `hang`: reads requests and never answers them;
 * - `reset`: resets every connection, open ones at once, new ones as they are accepted;
 * - `unavailable`: answers 503 to everything;
 * - `slow-read`: serves, reading request bodies at most `bytesPerS`.
 */
export type PodMode =
  | { readonly kind: 'serve' }
  | { readonly kind: 'hang' }
  | { readonly kind: 'reset' }
  | { readonly kind: 'unavailable' }
  | { readonly kind: 'slow-read'; readonly bytesPerS: number };

export type PodCommand =
  | { readonly type: 'delay'; readonly ms: number }
  | { readonly type: 'reset' }
  | { readonly type: 'stats' }
  | { readonly type: 'mode'; readonly mode: PodMode }
  /** A graceful restart of every pod: close (in-flight requests finish), wait, listen on the same port. */
  | { readonly type: 'restart'; readonly pauseMs: number };

export type PodReply =
  | { readonly type: 'ready'; readonly pods: readonly PodAddress[] }
  | { readonly type: 'ok' }
  | { readonly type: 'stats'; readonly pods: readonly PodStats[] };
