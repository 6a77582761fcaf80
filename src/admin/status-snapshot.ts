/**
 * `GET /v1/status`: the live state of the proxy for the admin page, built from every serving
 * thread's view (thread-status.ts). One thread (`shardgate serve`) gives its view as it is; with
 * `--workers N` each worker's view is asked over its MessagePort and merged here:
 *
 * - counts (requests, failures, samples, latency sums) and the queue are summed over threads;
 * - in-flight counts are the process's shared cells, read alike by every thread: taken once;
 * - outlier detection and health checks run in each worker: an endpoint is `ejected` when any
 *   thread has ejected it (`ejection.threads` says in how many), `failing-checks` when any thread's
 *   checks fail it;
 * - the latency estimate is the highest thread's (peak-EWMA: the pessimistic one).
 *
 * The answer's `threads` says how many views were merged. Times are wall-clock milliseconds
 * (`atMs`, ejection ends) for people; `uptimeMs` is monotonic, for rates.
 */
import { loadBound } from '../balancer/bounded-load.js';
import type { EjectionReason } from '../balancer/outlier-detector.js';
import type { HealthState } from '../proxy/health-check.js';
import type { EndpointState, OutOfRotation, ThreadStatus } from './thread-status.js';

/** What does not change between reads: the routing config. */
export interface StatusContext {
  readonly algorithm: string;
  /** The algorithm for requests without a key (keyed algorithms), or null. */
  readonly keyless: string | null;
  /** The bounded-load factor c, or null when loads are not bounded. */
  readonly boundedLoad: number | null;
  /** Where the key is read (`header:x-account`), or null for keyless routing. */
  readonly keySource: string | null;
  readonly keyTransform: string | null;
}

export interface EndpointStatus {
  readonly name: string;
  readonly address: string;
  readonly zone: string | null;
  readonly weight: number;
  readonly state: EndpointState;
  /** Every reason it is out of rotation (the first is `state`). */
  readonly out: readonly OutOfRotation[];
  /** While ejected: when the ejection ends (wall clock, ms), why, and in how many threads. */
  readonly ejection: { readonly untilMs: number; readonly reason: EjectionReason | null; readonly threads: number } | null;
  readonly ejections: number;
  readonly health: HealthState | null;
  readonly inflight: number;
  /** The in-flight limit (maxInflight), or null for none. */
  readonly maxInflight: number | null;
  /** What bounded loads would allow it now, a request added (bounded-load.ts); null without bounded loads or out of rotation. */
  readonly bound: number | null;
  readonly requests: number;
  readonly failures: number;
  readonly samples: number;
  readonly latencySumMs: number;
  readonly latencyMs: number | null;
}

export interface StatusSnapshot {
  /** Wall clock of the read, ms since the epoch. */
  readonly atMs: number;
  /** Monotonic milliseconds since the process started: difference two reads for rates. */
  readonly uptimeMs: number;
  /** Serving threads whose views were merged: 1, or the worker count. */
  readonly threads: number;
  readonly balancer: { readonly algorithm: string; readonly keyless: string | null; readonly boundedLoad: number | null };
  readonly key: { readonly source: string | null; readonly transform: string | null };
  /** The endpoint set's version (discovery's) and the directory's generation, null where there is none. */
  readonly set: { readonly version: number | null; readonly generation: number | null; readonly endpoints: number; readonly inRotation: number };
  readonly queued: number;
  readonly totals: { readonly requests: number; readonly failures: number; readonly inflight: number };
  readonly endpoints: readonly EndpointStatus[];
}

/** An endpoint's status while the views are summed. */
type Acc = { -readonly [K in keyof EndpointStatus]: EndpointStatus[K] };

/** The state named first when an endpoint is out for several reasons. */
const PRIORITY: readonly OutOfRotation[] = ['draining', 'ejected', 'failing-checks'];

/**
 * Merges the threads' views (at least one; endpoints in the first view's order, names a later
 * view adds at the end). `nowMs` is the wall clock, `uptimeMs` the monotonic one.
 */
export function buildStatus(views: readonly ThreadStatus[], context: StatusContext, generation: number | null, nowMs: number, uptimeMs: number): StatusSnapshot {
  const byName = new Map<string, Acc>();
  const outs = new Map<string, Set<OutOfRotation>>();
  let queued = 0;
  let version: number | null = null;
  for (const view of views) {
    queued += view.queued;
    if (view.version !== null && (version === null || view.version > version)) version = view.version;
    for (const e of view.endpoints) {
      let acc = byName.get(e.name);
      if (acc === undefined) {
        acc = {
          name: e.name,
          address: e.address,
          zone: e.zone,
          weight: e.weight,
          state: 'ready',
          out: [],
          ejection: null,
          ejections: 0,
          health: e.health,
          inflight: e.inflight,
          maxInflight: e.maxInflight === 0 ? null : e.maxInflight,
          bound: null,
          requests: 0,
          failures: 0,
          samples: 0,
          latencySumMs: 0,
          latencyMs: null,
        };
        byName.set(e.name, acc);
        outs.set(e.name, new Set());
      } else if (!view.sharedCounts) {
        acc.inflight += e.inflight;
      }
      const out = outs.get(e.name)!;
      for (const o of e.out) out.add(o);
      if (e.ejection !== null) {
        const untilMs = nowMs + e.ejection.remainingMs;
        const prev = acc.ejection;
        acc.ejection = { untilMs: prev === null ? untilMs : Math.max(prev.untilMs, untilMs), reason: prev?.reason ?? e.ejection.reason, threads: (prev?.threads ?? 0) + 1 };
      }
      acc.ejections = Math.max(acc.ejections, e.ejections);
      if (e.health === 'unhealthy' || acc.health === null) acc.health = e.health;
      acc.requests += e.requests;
      acc.failures += e.failures;
      acc.samples += e.samples;
      acc.latencySumMs += e.latencySumMs;
      if (e.latencyMs !== null && (acc.latencyMs === null || e.latencyMs > acc.latencyMs)) acc.latencyMs = e.latencyMs;
    }
  }
  const endpoints = [...byName.values()];
  let availableWeight = 0;
  let inRotation = 0;
  let inflight = 0;
  let requests = 0;
  let failures = 0;
  for (const acc of endpoints) {
    const out = outs.get(acc.name)!;
    acc.out = PRIORITY.filter((o) => out.has(o));
    acc.state = acc.out[0] ?? 'ready';
    if (acc.state === 'ready') {
      availableWeight += acc.weight;
      inRotation++;
    }
    inflight += acc.inflight;
    requests += acc.requests;
    failures += acc.failures;
  }
  const factor = context.boundedLoad;
  if (factor !== null && availableWeight > 0) {
    for (const acc of endpoints) if (acc.state === 'ready') acc.bound = loadBound(factor, inflight, acc.weight, availableWeight);
  }
  return {
    atMs: nowMs,
    uptimeMs,
    threads: views.length,
    balancer: { algorithm: context.algorithm, keyless: context.keyless, boundedLoad: context.boundedLoad },
    key: { source: context.keySource, transform: context.keyTransform },
    set: { version, generation, endpoints: endpoints.length, inRotation },
    queued,
    totals: { requests, failures, inflight },
    endpoints,
  };
}
