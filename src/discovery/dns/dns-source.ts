/**
 * Endpoints from DNS: the A/AAAA or SRV records of a headless Service (see resolve-endpoints.ts for
 * what becomes an endpoint), resolved when the first subscriber comes, then again when the answers'
 * TTL runs out (bounded, see refresh-delay.ts), and at once on `refresh()`, which the proxy calls
 * when an endpoint's address stops answering (the pod may have moved).
 *
 * A resolution that fails (NXDOMAIN, SERVFAIL, a timeout, no address) changes nothing: the last good
 * set keeps serving and the problem goes to `onError`, once until the problem changes or an answer
 * comes. An answer that leaves the endpoints as they were (same names, same addresses, in any
 * order) publishes nothing.
 *
 * Injected: the resolver and the timers. The timer is unref'd: a source never keeps a process up.
 */
import { createEndpointSet } from '../../balancer/endpoint.js';
import type { EndpointSet } from '../../balancer/endpoint.js';
import { ConfigError } from '../../errors.js';
import { DiscoveryError, statusOf } from '../endpoint-source.js';
import type { EndpointSource, SourceStatus } from '../endpoint-source.js';
import { Subscribers } from '../subscribers.js';
import { realTimers, sameEndpoints } from '../static-file.js';
import type { Timers } from '../static-file.js';
import { createDnsResolver } from './dns-resolver.js';
import type { DnsResolver } from './dns-resolver.js';
import { formatDnsTarget } from './dns-target.js';
import type { DnsTarget } from './dns-target.js';
import { checkRefreshBounds, DEFAULT_REFRESH_BOUNDS, delayAfterAnswerMs, delayAfterFailureMs } from './refresh-delay.js';
import type { RefreshBounds } from './refresh-delay.js';
import { DnsLookupError, resolveEndpoints } from './resolve-endpoints.js';

export interface DnsSourceOptions {
  /** Whom to ask; by default a resolver of its own on `server` (the system's servers if null). */
  readonly resolver?: DnsResolver;
  /** From `parseDnsServer()`; used only when no `resolver` is given. */
  readonly server?: string | null;
  /** Per-query timeout of the source's own resolver. */
  readonly timeoutMs?: number;
  /** Bounds on the re-resolution interval; 1 s and 30 s by default. */
  readonly refresh?: RefreshBounds;
  readonly timers?: Timers;
  /** How messages name the source; the spec (`srv:...`) by default. */
  readonly label?: string;
}

export class DnsSource implements EndpointSource {
  readonly target: DnsTarget;
  readonly #label: string;
  readonly #resolver: DnsResolver;
  /** Only a resolver of the source's own may be cancelled on close(); a given one may be shared. */
  readonly #ownResolver: boolean;
  readonly #bounds: RefreshBounds;
  readonly #timers: Timers;
  readonly #listeners = new Subscribers(() => void this.#resolve(), () => this.#stopTimer());
  /** The last good set, kept across unsubscribe so that a later subscriber gets it at once. */
  #set: EndpointSet | null = null;
  #lastError: string | null = null;
  #failures = 0;
  /** When to resolve next, as the last resolution decided. */
  #nextDelayMs: number;
  #timer: NodeJS.Timeout | null = null;
  /** The resolution under way (with any asked for during it), or null. */
  #cycle: Promise<void> | null = null;
  #again = false;
  #closed = false;

  /** @throws ConfigError naming `dnsRefresh.minMs` or `dnsRefresh.maxMs` when the bounds are unusable */
  constructor(target: DnsTarget, options: DnsSourceOptions = {}) {
    this.target = target;
    this.#label = options.label ?? formatDnsTarget(target);
    this.#bounds = checkRefreshBounds(options.refresh ?? DEFAULT_REFRESH_BOUNDS);
    this.#timers = options.timers ?? realTimers;
    this.#ownResolver = options.resolver === undefined;
    this.#resolver = options.resolver ?? createDnsResolver({ server: options.server ?? null, ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }) });
    this.#nextDelayMs = this.#bounds.minMs;
  }

  /** The last good set, or null before the first. */
  get current(): EndpointSet | null {
    return this.#set;
  }

  status(): SourceStatus {
    return statusOf(this.#set, this.#lastError);
  }

  /**
   * Resolves now, for a startup that should fail rather than serve nothing. The set found here is
   * the first one subscribers get; current subscribers get it too if it is new.
   * @throws ConfigError naming the source when the name cannot be resolved into endpoints
   */
  async load(): Promise<EndpointSet> {
    try {
      const resolution = await resolveEndpoints(this.#resolver, this.target);
      this.#accept(createEndpointSet(resolution.specs, (this.#set?.version ?? 0) + 1, this.#label));
    } catch (e) {
      if (e instanceof ConfigError) throw e;
      throw new ConfigError('SG_ERR_DISCOVERY', this.#label, `${e instanceof Error ? e.message : String(e)}: check the name and the DNS server (--dns-server)`, { cause: e });
    }
    return this.#set!;
  }

  subscribe(onSet: (set: EndpointSet) => void, onError: (error: DiscoveryError) => void): () => void {
    if (this.#closed) return () => undefined;
    return this.#listeners.add(onSet, onError, () => this.#set);
  }

  /**
   * Resolves now rather than when the timer says (after a connect failure to an address that may
   * have gone). A call during a resolution causes one more after it. Resolves once that is done and
   * whatever it publishes or reports has been delivered; never rejects. A no-op without subscribers.
   */
  refresh(): Promise<void> {
    if (this.#listeners.size === 0 || this.#closed) return Promise.resolve();
    return this.#resolve();
  }

  /** Stops the timer and any queries of the source's own resolver; no callback is called after. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#listeners.clear();
    this.#stopTimer();
    if (this.#ownResolver) this.#resolver.cancel();
  }

  #stopTimer(): void {
    if (this.#timer !== null) this.#timers.clearTimeout(this.#timer);
    this.#timer = null;
  }

  #resolve(): Promise<void> {
    if (this.#cycle !== null) {
      this.#again = true;
      return this.#cycle;
    }
    this.#stopTimer();
    const cycle = (async () => {
      try {
        do {
          this.#again = false;
          await this.#resolveOnce();
        } while (this.#again && this.#listeners.size > 0);
      } finally {
        this.#cycle = null;
        this.#arm();
      }
    })();
    this.#cycle = cycle;
    return cycle;
  }

  #arm(): void {
    if (this.#closed || this.#listeners.size === 0) return;
    this.#stopTimer();
    this.#timer = this.#timers.setTimeout(() => {
      this.#timer = null;
      void this.#resolve();
    }, this.#nextDelayMs);
    this.#timer.unref();
  }

  async #resolveOnce(): Promise<void> {
    let set: EndpointSet;
    let ttlSeconds: number | null;
    try {
      const resolution = await resolveEndpoints(this.#resolver, this.target);
      ttlSeconds = resolution.ttlSeconds;
      set = createEndpointSet(resolution.specs, (this.#set?.version ?? 0) + 1, this.#label);
    } catch (e) {
      if (this.#listeners.size === 0) return;
      this.#failures++;
      this.#nextDelayMs = delayAfterFailureMs(this.#failures, this.#bounds);
      // DnsLookupError and ConfigError messages are stable per problem; anything else is a bug,
      // reported rather than thrown into a timer callback.
      this.#report(e instanceof DnsLookupError || e instanceof ConfigError ? e.message : `resolution failed unexpectedly (${String(e)})`, e);
      return;
    }
    this.#failures = 0;
    this.#lastError = null;
    this.#nextDelayMs = delayAfterAnswerMs(ttlSeconds, this.#bounds);
    if (this.#listeners.size === 0) return;
    this.#accept(set);
  }

  #accept(set: EndpointSet): void {
    if (this.#set !== null && sameEndpoints(this.#set, set)) return;
    this.#set = set;
    this.#listeners.publish(set);
  }

  #report(problem: string, cause: unknown): void {
    if (problem === this.#lastError) return;
    this.#lastError = problem;
    const kept = this.#set;
    const message =
      kept === null ? `${this.#label}: ${problem}; no endpoints yet` : `${this.#label}: ${problem}; still serving the previous set (version ${kept.version}, ${kept.endpoints.length} endpoints)`;
    const error = new DiscoveryError(this.#label, message, cause);
    this.#listeners.report(error);
  }
}
