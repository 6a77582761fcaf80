/**
 * A planned hand-off delay over any endpoint source, after Meta's Shard Manager (prepare_add,
 * add, prepare_drop, drop): a change that was planned is announced first and takes effect
 * `delayMs` later, so that a pod about to gain keys can warm up and one about to lose them can
 * hand them off while it still serves them; a change that was not planned takes effect at once.
 *
 * - Planned: the membership changes (membershipOf: names, weights, draining flags) and every
 *   endpoint in rotation stays in the set. A new ready pod, a pod marked terminating (draining),
 *   a weight change, a draining pod leaving (it serves nothing, but maglev and jump renumber
 *   around it). Announced to `onPlan` listeners at once, published to subscribers after the
 *   delay.
 * - Unplanned: an endpoint in rotation is gone (a crash, a failed readiness probe). Published at
 *   once, whole, with whatever planned change came with it; a pending plan is dropped.
 * - Neither (addresses, zones or labels alone, or a pending change undone): published at once,
 *   and a pending plan is dropped.
 * A planned change that arrives while another is pending replaces it and is announced in turn;
 * it takes effect `delayMs` after its own announcement, but no later than `maxHoldMs` after the
 * first pending announcement, so that a stream of changes (a rolling update) cannot hold the old
 * set for ever.
 *
 * Every process that wraps the same source (each proxy, the directory, a pod's helper) runs its
 * own delay from the moment its own watch delivers the change, so the delay adds no skew: two
 * routers switch as far apart as their watches delivered the change. Listeners of the directory's
 * stream get the wall-clock time a change applies (`effectiveAtMs`) and may switch on it instead.
 *
 * Injected: the timers and the wall clock. The first set is published at once.
 */
import type { EndpointSet } from '../balancer/endpoint.js';
import { MAX_HANDOFF_DELAY_MS } from '../config/defaults.js';
import { ConfigError } from '../errors.js';
import { membershipOf } from '../directory/membership.js';
import type { DiscoveryError, EndpointSource, SourceStatus } from './endpoint-source.js';
import type { Timers } from './static-file.js';
import { realTimers } from './static-file.js';
import { Subscribers } from './subscribers.js';

/** A change announced ahead of taking effect. */
export interface PlannedChange {
  /** The set that serves until the change applies. */
  readonly current: EndpointSet;
  /** The set that will serve. */
  readonly next: EndpointSet;
  readonly delayMs: number;
  /** Wall-clock time (ms since the epoch) at which this process applies it. */
  readonly effectiveAtMs: number;
}

export interface HandoffOptions {
  /** How long a planned change is announced before it applies; 1 to MAX_HANDOFF_DELAY_MS. */
  readonly delayMs: number;
  /** Longest a pending change is held by later planned ones; default 2 x delayMs. */
  readonly maxHoldMs?: number;
  readonly timers?: Timers;
  /** Wall-clock milliseconds since the epoch. */
  readonly now?: () => number;
}

interface Pending {
  readonly next: EndpointSet;
  readonly timer: NodeJS.Timeout;
  /** When the first of the changes pending in a row was announced. */
  readonly firstAtMs: number;
}

export class PlannedHandoffSource implements EndpointSource {
  readonly delayMs: number;
  readonly maxHoldMs: number;
  readonly #inner: EndpointSource;
  readonly #timers: Timers;
  readonly #now: () => number;
  readonly #subscribers: Subscribers;
  readonly #planListeners: ((change: PlannedChange) => void)[] = [];
  #unsubscribe: (() => void) | null = null;
  #applied: EndpointSet | null = null;
  #pending: Pending | null = null;

  /** @throws ConfigError naming `handoffDelayMs` when the delay is out of range */
  constructor(inner: EndpointSource, options: HandoffOptions) {
    this.delayMs = validateHandoffDelay(options.delayMs, 'handoffDelayMs');
    this.maxHoldMs = options.maxHoldMs ?? 2 * this.delayMs;
    this.#inner = inner;
    this.#timers = options.timers ?? realTimers;
    this.#now = options.now ?? Date.now;
    this.#subscribers = new Subscribers(
      () => {
        this.#unsubscribe = this.#inner.subscribe(
          (set) => this.#offer(set),
          (e: DiscoveryError) => this.#subscribers.report(e),
        );
      },
      () => {
        this.#unsubscribe?.();
        this.#unsubscribe = null;
        this.#cancel();
        this.#applied = null;
      },
    );
  }

  subscribe(onSet: (set: EndpointSet) => void, onError: (error: DiscoveryError) => void): () => void {
    return this.#subscribers.add(onSet, onError, () => this.#applied);
  }

  status(): SourceStatus {
    return this.#inner.status();
  }

  /** The change waiting for its delay, or null. */
  get pending(): EndpointSet | null {
    return this.#pending?.next ?? null;
  }

  /** Hears every planned change when it is announced. Returns the function that stops it. */
  onPlan(listener: (change: PlannedChange) => void): () => void {
    this.#planListeners.push(listener);
    return () => {
      const i = this.#planListeners.indexOf(listener);
      if (i >= 0) this.#planListeners.splice(i, 1);
    };
  }

  #offer(next: EndpointSet): void {
    const current = this.#applied;
    if (current === null || !isPlanned(current, next)) {
      this.#cancel();
      this.#apply(next);
      return;
    }
    const now = this.#now();
    const firstAtMs = this.#pending?.firstAtMs ?? now;
    const delayMs = Math.max(0, Math.min(this.delayMs, firstAtMs + this.maxHoldMs - now));
    this.#cancel();
    const timer = this.#timers.setTimeout(() => {
      this.#pending = null;
      this.#apply(next);
    }, delayMs);
    timer.unref?.();
    this.#pending = { next, timer, firstAtMs };
    const change: PlannedChange = { current, next, delayMs, effectiveAtMs: now + delayMs };
    for (const l of [...this.#planListeners]) l(change);
  }

  #apply(set: EndpointSet): void {
    this.#applied = set;
    this.#subscribers.publish(set);
  }

  #cancel(): void {
    if (this.#pending === null) return;
    this.#timers.clearTimeout(this.#pending.timer);
    this.#pending = null;
  }
}

/** True when `next` changes who owns keys and keeps every endpoint of `current` that is in rotation. */
export function isPlanned(current: EndpointSet, next: EndpointSet): boolean {
  if (membershipOf(current) === membershipOf(next)) return false;
  for (const e of current.endpoints) if (!e.draining && !next.byName.has(e.name)) return false;
  return true;
}

/** @throws ConfigError naming `field` unless the delay is an integer from 0 (off) to MAX_HANDOFF_DELAY_MS */
export function validateHandoffDelay(raw: unknown, field: string): number {
  if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < 0 || raw > MAX_HANDOFF_DELAY_MS) {
    throw new ConfigError('SG_ERR_CONFIG', field, `is ${String(raw)}: the planned hand-off delay is a whole number of milliseconds from 0 (off) to ${MAX_HANDOFF_DELAY_MS}; keep it below the pods' terminationGracePeriodSeconds, since a pod marked terminating keeps its keys this long`);
  }
  return raw;
}
