/**
 * What `/readyz` answers. Ready means this process routes: it listens, it holds an endpoint set,
 * and it is not shutting down. A discovery source that cannot be read does NOT make it unready:
 * the last set keeps serving (static stability), and taking every proxy out of its Service at the
 * moment the API server or DNS fails would turn a control-plane outage into a data-plane one. The
 * body says so instead (`discovery.state: stale`), and `?strict` turns it into a 503 for a monitor
 * that wants to page on it.
 */
import type { EndpointSet } from '../balancer/endpoint.js';
import { statusOf } from '../discovery/endpoint-source.js';
import type { EndpointSource, SourceStatus } from '../discovery/endpoint-source.js';

export interface ReadinessReport {
  readonly ready: boolean;
  /** Why not ready (or why strict readiness failed); null when ready. */
  readonly reason: string | null;
  readonly discovery: { readonly source: string } & SourceStatus;
  /** The set being served; null before the first. */
  readonly endpoints: { readonly version: number; readonly total: number; readonly draining: number } | null;
}

export class Readiness {
  readonly #label: string;
  #source: EndpointSource | null = null;
  #listening = false;
  #shuttingDown = false;
  #set: ReadinessReport['endpoints'] = null;

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
    const reason = this.#shuttingDown
      ? 'shutting down'
      : !this.#listening || endpoints === null
        ? 'starting: waiting for the first endpoint set'
        : strict && status.state !== 'synced'
          ? `discovery is ${status.state}: ${status.error ?? 'no set yet'}`
          : strict && endpoints.total - endpoints.draining === 0
            ? 'no endpoint in rotation'
            : null;
    return { ready: reason === null, reason, discovery, endpoints };
  }
}
