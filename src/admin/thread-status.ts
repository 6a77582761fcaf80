/**
 * One thread's view of its endpoints, read from its data plane when asked (never on the request
 * path): marks, counts and estimates as the load board, the outlier detector and the health
 * checker hold them. Plain data, so that a worker thread can post it to the thread that serves the
 * admin listener (src/cluster/messages.ts), where status-snapshot.ts merges the threads' views.
 *
 * Counts (`requests`, `failures`, `samples`, `latencySumMs`) are cumulative since the endpoint
 * joined this thread's board: whoever shows rates takes the difference of two reads.
 */
import { DOWN, MAX_INFLIGHT_LIMIT } from '../balancer/load-board.js';
import type { EjectionReason } from '../balancer/outlier-detector.js';
import type { DataPlane } from '../dataplane/data-plane.js';
import type { HealthState } from '../proxy/health-check.js';

/** Why an endpoint takes no new requests, each held by one party. */
export type OutOfRotation = 'draining' | 'ejected' | 'failing-checks';

/** What the page and readiness call an endpoint: in rotation, or the first reason it is not. */
export type EndpointState = 'ready' | OutOfRotation;

export interface ThreadEndpoint {
  readonly name: string;
  readonly address: string;
  readonly zone: string | null;
  readonly weight: number;
  /** Every reason it is out of rotation in this thread, in the order of EndpointState's priority; empty when in rotation. */
  readonly out: readonly OutOfRotation[];
  /** While ejected by outlier detection: milliseconds until the ejection ends, and why. */
  readonly ejection: { readonly remainingMs: number; readonly reason: EjectionReason | null } | null;
  /** Times outlier detection has ejected it. */
  readonly ejections: number;
  /** What active health checks last said; null when they are off. */
  readonly health: HealthState | null;
  /** Requests in flight: this thread's, or the process's when the counts are shared (`ThreadStatus.sharedCounts`). */
  readonly inflight: number;
  /** Most requests in flight (maxInflight); 0 for no limit. */
  readonly maxInflight: number;
  /** Picks, retries included; cumulative. */
  readonly requests: number;
  /** Attempts that did not end well (an error, a 5xx counted as failure, a timeout); cumulative. */
  readonly failures: number;
  /** Attempts that ended and were timed; cumulative. */
  readonly samples: number;
  /** Their latency summed, in milliseconds; cumulative. */
  readonly latencySumMs: number;
  /** The peak-EWMA latency estimate as of its last sample; null before the first. */
  readonly latencyMs: number | null;
}

export interface ThreadStatus {
  /** The endpoint set's version, from discovery; null before the first set. */
  readonly version: number | null;
  /** Requests waiting for room (the proxy's queue); 0 without a proxy. */
  readonly queued: number;
  /** True when `inflight` is the process's count (shared cells), the same in every thread. */
  readonly sharedCounts: boolean;
  readonly endpoints: readonly ThreadEndpoint[];
}

/** Reads the plane now. O(endpoints); allocates the answer. */
export function readThreadStatus(plane: DataPlane, queued: number): ThreadStatus {
  const board = plane.board;
  const set = plane.current;
  const now = plane.clock.nowMs();
  const endpoints: ThreadEndpoint[] = [];
  for (const load of board.loads) {
    const e = load.endpoint;
    const out: OutOfRotation[] = [];
    if (e.draining) out.push('draining');
    if ((load.down & DOWN.ejected) !== 0) out.push('ejected');
    if ((load.down & DOWN['failed-check']) !== 0) out.push('failing-checks');
    const view = plane.outlier?.view(e.name) ?? null;
    const until = view?.ejectedUntilMs ?? null;
    endpoints.push({
      name: e.name,
      address: e.address,
      zone: e.zone,
      weight: e.weight,
      out,
      ejection: until === null ? null : { remainingMs: Math.max(0, until - now), reason: view?.reason ?? null },
      ejections: view?.ejections ?? 0,
      health: plane.health?.state(e.name) ?? null,
      inflight: load.inflight,
      // Without a limit the board holds a number above any configurable one.
      maxInflight: load.limit > MAX_INFLIGHT_LIMIT ? 0 : load.limit,
      requests: load.picks,
      failures: load.failures,
      samples: load.samples,
      latencySumMs: load.latencySumMs,
      latencyMs: load.hasSample ? load.ewmaMs : null,
    });
  }
  return { version: set === null ? null : set.version, queued, sharedCounts: board.shared !== null, endpoints };
}
