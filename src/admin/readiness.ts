/**
 * What `/readyz` answers. Ready means this process routes: it listens, it holds an endpoint set,
 * and it is not shutting down. A discovery source that cannot be read does NOT make it unready:
 * the last set keeps serving (static stability), and taking every proxy out of its Service at the
 * moment the API server or DNS fails would turn a control-plane outage into a data-plane one. The
 * body says so instead (`discovery.state: stale`), and `?strict` turns it into a 503 for a monitor
 * that wants to page on it.
 *
 * `?strict` also fails when no endpoint is in rotation, whatever took them out: draining (the set
 * says so), ejected by outlier detection, failing active health checks, or no endpoint at all. Who
 * routes tells readiness how its endpoints stand (`inspect`, read when a probe asks); the strict
 * report then names each endpoint's state (`rotation`). Without `inspect` only the set's draining
 * marks are known. The plain report stays as it was: a proxy whose pods all fail is still the
 * best place for its clients' requests (it answers 503 at once, and recovers with the pods).
 */
import type { EndpointSet } from '../balancer/endpoint.js';
import { statusOf } from '../discovery/endpoint-source.js';
import type { EndpointSource, SourceStatus } from '../discovery/endpoint-source.js';
import type { EndpointState } from './thread-status.js';

/** One endpoint as who routes sees it now. */
export interface EndpointRotation {
  readonly name: string;
  readonly state: EndpointState;
}

export interface ReadinessReport {
  readonly ready: boolean;
  /** Why not ready (or why strict readiness failed); null when ready. */
  readonly reason: string | null;
  readonly discovery: { readonly source: string } & SourceStatus;
  /** The set being served; null before the first. */
  readonly endpoints: { readonly version: number; readonly total: number; readonly draining: number } | null;
  /** Strict reports only: endpoints in rotation, and each endpoint's state by name. */
  readonly rotation?: { readonly inRotation: number; readonly states: Readonly<Record<string, EndpointState>> };
}

export class Readiness {
  readonly #label: string;
  #source: EndpointSource | null = null;
  #listening = false;
  #shuttingDown = false;
  #set: ReadinessReport['endpoints'] = null;
  #names: readonly { readonly name: string; readonly draining: boolean }[] = [];
  #inspect: (() => readonly EndpointRotation[] | null) | null = null;

  /** `label` names the source for people (`k8s:default/sharded-svc`). */
  constructor(label: string) {
    this.#label = label;
  }

  /** The source the endpoint sets come from, once it is open. */
  attach(source: EndpointSource): void {
    this.#source = source;
  }

  /** The data plane took this set and routes with it. */
  accepted(set: EndpointSet): void {
    let draining = 0;
    for (const e of set.endpoints) if (e.draining) draining++;
    this.#set = { version: set.version, total: set.endpoints.length, draining };
    this.#names = set.endpoints;
  }

  /**
   * How the endpoints stand now (drained, ejected, failing checks), read when a strict probe asks;
   * `read` answers null when it does not know yet (the set's draining marks are used then).
   */
  inspect(read: () => readonly EndpointRotation[] | null): void {
    this.#inspect = read;
  }

  listening(): void {
    this.#listening = true;
  }

  /** From now on unready, so that the Service stops sending before the listener closes. */
  shuttingDown(): void {
    this.#shuttingDown = true;
  }

  /** `strict`: a stale source or a set with nothing in rotation also fails. */
  report(strict: boolean): ReadinessReport {
    const status = this.#source?.status() ?? statusOf(null, null);
    const discovery = { source: this.#label, state: status.state, error: status.error };
    const endpoints = this.#set;
    const rotation = strict && endpoints !== null ? this.#rotation() : null;
    const reason = this.#shuttingDown
      ? 'shutting down'
      : !this.#listening || endpoints === null
        ? 'starting: waiting for the first endpoint set'
        : strict && status.state !== 'synced'
          ? `discovery is ${status.state}: ${status.error ?? 'no set yet'}`
          : rotation !== null && rotation.inRotation === 0
            ? noneInRotation(rotation.states)
            : null;
    return { ready: reason === null, reason, discovery, endpoints, ...(rotation === null ? {} : { rotation }) };
  }

  #rotation(): NonNullable<ReadinessReport['rotation']> {
    const list = this.#inspect?.() ?? this.#names.map((e) => ({ name: e.name, state: e.draining ? ('draining' as const) : ('ready' as const) }));
    let inRotation = 0;
    for (const e of list) if (e.state === 'ready') inRotation++;
    return { inRotation, states: Object.fromEntries(list.map((e) => [e.name, e.state])) };
  }
}

/** `no endpoint in rotation`, with how many are out for which reason. */
function noneInRotation(states: Readonly<Record<string, EndpointState>>): string {
  const counts = new Map<EndpointState, number>();
  for (const s of Object.values(states)) counts.set(s, (counts.get(s) ?? 0) + 1);
  if (counts.size === 0) return 'no endpoint in rotation: the set is empty';
  return `no endpoint in rotation: ${[...counts].map(([s, n]) => `${n} ${s}`).join(', ')}`;
}
