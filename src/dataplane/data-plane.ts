/**
 * The one owner of what every front needs to route a key: the load board, the balancer, the
 * subsets, the key source and transform, retries and their budget, passive and active health, and
 * the current endpoint set. The HTTP proxy, the client library and the directory each hold a
 * DataPlane, so that all of them name the same owner for a key and account for the same loads;
 * none of them applies an endpoint set, hashes a key or ticks outlier detection on its own.
 *
 * Applying a set (`apply`) is the whole fan-out, in one order: every transport checks it first (an
 * address it cannot dial refuses the set, changing nothing); then the balancer is rebuilt, the
 * subsets regrouped, the transports reconciled (a new name gets a pool, a removed one drains),
 * active health checks follow, and whoever waits for capacity is told. Synchronous; the set is
 * published to the balancer in one assignment (R2).
 *
 * Fronts plug in as transports (`attach`): a transport holds connections per endpoint (the
 * proxy's pools, the dispatcher's), checks sets and reconciles with them. Outcomes of attempts
 * come back through `observe`, from any front, to passive health and the connect-failure hook.
 *
 * Injected: the clock, the logger, the parts (built from config by createDataPlane in
 * src/cluster/data-plane.ts, or by hand in tests). Timers: the outlier detector's tick, unref'd,
 * stopped by close().
 */
import type { Logger } from 'pino';
import type { Balancer, Outcome } from '../balancer/balancer.js';
import type { Clock } from '../balancer/clock.js';
import type { Endpoint, EndpointSet } from '../balancer/endpoint.js';
import type { RoutingKey } from '../balancer/hash.js';
import { hashKey } from '../balancer/hash.js';
import type { KeyTransform } from '../balancer/key-transform.js';
import { applyKeyTransform } from '../balancer/key-transform.js';
import type { LoadBoard } from '../balancer/load-board.js';
import type { OutlierDetector } from '../balancer/outlier-detector.js';
import type { SubsetRouter } from '../balancer/subsets.js';
import type { HealthChecker } from '../proxy/health-check.js';
import type { KeySource } from '../proxy/key-source.js';
import type { Retrier } from '../proxy/retries.js';

/** Connections per endpoint, kept in step with the endpoint set. */
export interface Transport {
  /**
   * Checks the set before anything changes; returns what `reconcile` needs (parsed addresses).
   * @throws ConfigError naming the endpoint whose address cannot be used
   */
  check(set: EndpointSet): unknown;
  /** Aligns the transport with the set, after the balancer has it. */
  reconcile(set: EndpointSet, checked: unknown): void;
}

export interface DataPlaneParts {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly board: LoadBoard;
  readonly balancer: Balancer;
  readonly subsets?: SubsetRouter | null;
  /** null: every request is keyless. */
  readonly keySource: KeySource | null;
  readonly keyTransform?: KeyTransform | null;
  readonly retries?: Retrier | null;
  readonly outlier?: OutlierDetector | null;
  readonly health?: HealthChecker | null;
  /**
   * Told, synchronously, each time a connection to an endpoint could not be made: the request
   * never reached it, and the pod may have moved, so DNS discovery re-resolves. Once per failed
   * attempt, so the hook must rate-limit; not called for an endpoint no longer in the set.
   */
  readonly onConnectFailure?: ((endpoint: Endpoint) => void) | null;
}

export class DataPlane {
  readonly clock: Clock;
  readonly log: Logger;
  readonly board: LoadBoard;
  /** The balancer over every endpoint; subsets have their own (`select`). */
  readonly balancer: Balancer;
  readonly subsets: SubsetRouter | null;
  readonly keySource: KeySource | null;
  readonly keyTransform: KeyTransform | null;
  readonly retries: Retrier | null;
  readonly outlier: OutlierDetector | null;
  readonly health: HealthChecker | null;
  readonly #onConnectFailure: ((endpoint: Endpoint) => void) | null;
  readonly #transports: Transport[] = [];
  readonly #capacityListeners: (() => void)[] = [];
  readonly #setListeners: ((set: EndpointSet) => void)[] = [];
  #current: EndpointSet | null = null;
  #outlierTimer: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(parts: DataPlaneParts) {
    this.clock = parts.clock;
    this.log = parts.logger;
    this.board = parts.board;
    this.balancer = parts.balancer;
    this.subsets = parts.subsets ?? null;
    this.keySource = parts.keySource;
    this.keyTransform = parts.keyTransform ?? null;
    this.retries = parts.retries ?? null;
    this.outlier = parts.outlier ?? null;
    this.health = parts.health ?? null;
    this.#onConnectFailure = parts.onConnectFailure ?? null;
    const outlier = this.outlier;
    if (outlier !== null) {
      this.#outlierTimer = setInterval(() => outlier.tick(), outlier.options.intervalMs);
      this.#outlierTimer.unref();
    }
    // Reported synchronously from inside a pick's done(): listeners must defer their work.
    this.board.onCapacity = () => {
      for (const l of this.#capacityListeners) l();
    };
  }

  /** The set applied last, or null before the first. */
  get current(): EndpointSet | null {
    return this.#current;
  }

  /**
   * Adds a transport; it is checked and reconciled with every set, the current one at once.
   * @throws ConfigError when it cannot take the current set (it is not added then)
   */
  attach(transport: Transport): void {
    const set = this.#current;
    if (set !== null) transport.reconcile(set, transport.check(set));
    this.#transports.push(transport);
  }

  /** Stops offering sets to a transport (its front closed). */
  detach(transport: Transport): void {
    remove(this.#transports, transport);
  }

  /**
   * Hears, synchronously and from inside done(), that room was freed (a request ended, an
   * endpoint returned). Returns the function that stops it.
   */
  onCapacity(listener: () => void): () => void {
    this.#capacityListeners.push(listener);
    return () => remove(this.#capacityListeners, listener);
  }

  /** Hears of every set once it is applied. Returns the function that stops it. */
  onSet(listener: (set: EndpointSet) => void): () => void {
    this.#setListeners.push(listener);
    return () => remove(this.#setListeners, listener);
  }

  /**
   * Replaces the endpoint set everywhere. Every transport checks it first, so a bad set changes
   * nothing.
   * @throws ConfigError naming the endpoint whose address cannot be used, or the balancer's refusal
   */
  apply(set: EndpointSet): void {
    const transports = this.#transports;
    const checked = transports.map((t) => t.check(set));
    this.balancer.update(set);
    this.#updateSubsets(set);
    for (let i = 0; i < transports.length; i++) transports[i]!.reconcile(set, checked[i]);
    this.health?.update(set);
    this.#current = set;
    for (const l of this.#setListeners) l(set);
    for (const l of this.#capacityListeners) l();
    this.log.debug({ version: set.version, endpoints: set.endpoints.length }, 'endpoint set applied');
  }

  /**
   * The balancer for a request whose subset selector headers had `values` (in the order of
   * `subsets.headers`): its subset's, or the plane's own; null when they match no subset and the
   * fallback is to fail (`subsets.describeMiss` says why).
   */
  select(values: readonly (string | undefined)[]): Balancer | null {
    const subsets = this.subsets;
    return subsets === null ? this.balancer : subsets.select(values);
  }

  /**
   * The routing key of a key text (read from a request by the front's own reader): transformed,
   * if a transform is configured, then hashed; null for no key. The one place every front turns
   * text into a key.
   */
  key(text: string | null | undefined): RoutingKey | null {
    if (text === null || text === undefined) return null;
    const t = this.keyTransform;
    const transformed = t === null ? text : applyKeyTransform(t, text);
    return transformed === null ? null : hashKey(transformed);
  }

  /**
   * How an attempt on `endpoint` (by name) ended, from any front: passive health hears of it, and
   * a connection that could not be made is reported to the connect-failure hook.
   */
  observe(endpoint: string, outcome: Outcome, status: number): void {
    this.outlier?.record(endpoint, outcome, status);
    if (outcome !== 'connect-failed' || this.#onConnectFailure === null) return;
    const load = this.board.load(endpoint);
    if (load !== undefined) this.#onConnectFailure(load.endpoint);
  }

  /** Stops the outlier tick and the health checks. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#outlierTimer !== null) clearInterval(this.#outlierTimer);
    this.#outlierTimer = null;
    await this.health?.close();
  }

  #updateSubsets(set: EndpointSet): void {
    const subsets = this.subsets;
    if (subsets === null) return;
    subsets.update(set);
    if (subsets.dropped > 0) {
      this.log.warn({ version: set.version, subsets: subsets.subsets, dropped: subsets.dropped, maxSubsets: subsets.options.maxSubsets }, 'more label combinations than subsets.maxSubsets: requests for the rest get the fallback');
    }
  }
}

function remove<T>(list: T[], item: T): void {
  const i = list.indexOf(item);
  if (i >= 0) list.splice(i, 1);
}
