/**
 * Active health checks: every endpoint gets an HTTP GET of a configured path (`/healthz`) every
 * interval, plus jitter so that proxies started together don't probe in step. A check passes on
 * a status from 200 to 399 within the timeout; anything else (another status, a refused or reset
 * connection, no answer in time) fails. `unhealthyThreshold` failures in a row take the endpoint
 * out through the load board's `failed-check` mark, `healthyThreshold` passes in a row bring it
 * back; the mark is independent of outlier detection's, so the two never undo each other.
 *
 * An endpoint starts "unknown" and in rotation, and its FIRST result decides at once: a failure
 * takes it out, a pass makes it healthy. Envoy instead keeps a new host out until its first check
 * passes; in front of a Kubernetes Service, whose endpoints are listed only once ready, that turns
 * every proxy start and every new pod into a moment of 503s. Taking traffic at once and trusting
 * the first answer either way costs at most one timeout's worth of requests to a pod that is not
 * serving; passive outlier detection catches those too.
 *
 * One undici Client per endpoint keeps its connection alive between checks, as Envoy reuses its
 * health-check connections. Targets are origins (`http://host:port`) so that other schemes can be
 * added without changing this module. Checks of one endpoint never overlap: the next is scheduled
 * when the last ends. Timers come from an injected scheduler, jitter from an injected Rng.
 */
import { Client } from 'undici';
import type { Endpoint, EndpointSet } from '../balancer/endpoint.js';
import type { LoadBoard } from '../balancer/load-board.js';
import { OptionReader } from '../balancer/option-reader.js';
import type { Rng } from '../balancer/rng.js';
import { MAX_MS } from './limits.js';
import { parseEndpointAddress } from './address.js';

export interface HealthCheckOptions {
  /** The path (and query) checked: starts with `/`. */
  readonly path: string;
  /** Time from the end of one check to the start of the next, before jitter. */
  readonly intervalMs: number;
  /** Up to this share of the interval is added at random to each wait, in percent. */
  readonly jitterPercent: number;
  /** A check without a complete answer by then fails. */
  readonly timeoutMs: number;
  /** Failures in a row that take a healthy endpoint out. */
  readonly unhealthyThreshold: number;
  /** Passes in a row that bring an unhealthy endpoint back. */
  readonly healthyThreshold: number;
}

export const DEFAULT_HEALTH_CHECK: HealthCheckOptions = Object.freeze({
  path: '/healthz',
  intervalMs: 5_000,
  jitterPercent: 10,
  timeoutMs: 1_000,
  unhealthyThreshold: 3,
  healthyThreshold: 2,
});

const MAX_PATH = 2_048;

/**
 * Options as config gives them, defaults filled in.
 * @throws ConfigError SG_ERR_HEALTH naming `${field}.<setting>`, the value and what is allowed
 */
export function validateHealthCheckOptions(raw: unknown, field: string): HealthCheckOptions {
  const r = new OptionReader(raw, field, 'SG_ERR_HEALTH', Object.keys(DEFAULT_HEALTH_CHECK));
  const d = DEFAULT_HEALTH_CHECK;
  return Object.freeze({
    path: r.text('path', d.path, (p) =>
      !p.startsWith('/') || p.length > MAX_PATH || !isPlainPath(p)
        ? `the checked path must start with / and hold no spaces, control characters or #, at most ${MAX_PATH} characters; for example ${d.path}`
        : null,
    ),
    intervalMs: r.int('intervalMs', 1, MAX_MS, d.intervalMs, 'the time between checks, in milliseconds,'),
    jitterPercent: r.int('jitterPercent', 0, 100, d.jitterPercent, 'the random share added to the interval, in percent,'),
    timeoutMs: r.int('timeoutMs', 1, MAX_MS, d.timeoutMs, 'the time a check may take, in milliseconds,'),
    unhealthyThreshold: r.int('unhealthyThreshold', 1, 1_000, d.unhealthyThreshold, 'the failed checks in a row that take an endpoint out'),
    healthyThreshold: r.int('healthyThreshold', 1, 1_000, d.healthyThreshold, 'the passed checks in a row that bring it back'),
  });
}

/** No spaces, control characters or fragment: what goes on a request line as is. */
function isPlainPath(p: string): boolean {
  for (let i = 0; i < p.length; i++) {
    const c = p.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f || c === 0x23) return false;
  }
  return true;
}

/** Where an endpoint's checks go. */
export interface HealthTarget {
  /** `http://host:port`. */
  readonly origin: string;
}

export type HealthState = 'unknown' | 'healthy' | 'unhealthy';

export type HealthEvent =
  /** Taken out of rotation; `cause` is the last failure (`status 503`, `timeout`, `ECONNREFUSED`). */
  | { readonly kind: 'down'; readonly endpoint: string; readonly cause: string }
  /** Back in rotation. */
  | { readonly kind: 'up'; readonly endpoint: string }
  /** Every check's result, for metrics (and for ending an outlier ejection early on a pass). */
  | { readonly kind: 'checked'; readonly endpoint: string; readonly passed: boolean; readonly cause: string };

/** Timers as the checker sees them; tests may compress or record them. */
export interface Scheduler {
  setTimeout(run: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Node's timers, unref'd: health checks alone never keep the process running. */
export const NODE_SCHEDULER: Scheduler = {
  setTimeout: (run, ms) => setTimeout(run, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface HealthCheckerDeps {
  readonly board: LoadBoard;
  readonly rng: Rng;
  /** Validated already, or partial: what is missing takes the default. */
  readonly options?: Partial<HealthCheckOptions>;
  /** Told of every check and every change, synchronously. */
  readonly onEvent?: (event: HealthEvent) => void;
  /** Where to check an endpoint; by default its address as the proxy dials it. */
  readonly targetOf?: (endpoint: Endpoint) => HealthTarget;
  readonly scheduler?: Scheduler;
}

const defaultTarget = (e: Endpoint): HealthTarget => parseEndpointAddress(e.address, `endpoint ${e.name} address`);

/** One endpoint's checks. */
class Probe {
  readonly name: string;
  readonly origin: string;
  readonly client: Client;
  state: HealthState = 'unknown';
  /** Passes (while unhealthy) or failures (otherwise) in a row. */
  run = 0;
  timer: unknown = null;
  abort: AbortController | null = null;
  stopped = false;

  constructor(name: string, origin: string, timeoutMs: number) {
    this.name = name;
    this.origin = origin;
    // undici's own timeouts back up the checker's: a check must not outlive its timeout anyway.
    this.client = new Client(origin, { connectTimeout: timeoutMs, headersTimeout: timeoutMs, bodyTimeout: timeoutMs, pipelining: 1 });
  }
}

export class HealthChecker {
  readonly options: HealthCheckOptions;
  readonly #board: LoadBoard;
  readonly #rng: Rng;
  readonly #onEvent: ((event: HealthEvent) => void) | null;
  readonly #targetOf: (endpoint: Endpoint) => HealthTarget;
  readonly #scheduler: Scheduler;
  readonly #jitterMs: number;
  #probes = new Map<string, Probe>();
  #closed = false;
  /** Clients being destroyed, awaited by close(); each leaves the set when done. */
  readonly #closing = new Set<Promise<void>>();

  constructor(deps: HealthCheckerDeps) {
    this.#board = deps.board;
    this.#rng = deps.rng;
    this.options = validateHealthCheckOptions(deps.options ?? {}, 'healthCheck');
    this.#onEvent = deps.onEvent ?? null;
    this.#targetOf = deps.targetOf ?? defaultTarget;
    this.#scheduler = deps.scheduler ?? NODE_SCHEDULER;
    this.#jitterMs = Math.floor((this.options.intervalMs * this.options.jitterPercent) / 100);
  }

  /**
   * Follows a new endpoint set: new endpoints are checked from now on, gone ones no longer, and an
   * endpoint whose target moved (a pod back with a new IP) starts over as unknown. Call it after
   * the balancer's update, so that the board knows the names. A no-op after close().
   */
  update(set: EndpointSet): void {
    if (this.#closed) return;
    const next = new Map<string, Probe>();
    for (const e of set.endpoints) {
      const origin = this.#targetOf(e).origin;
      let probe = this.#probes.get(e.name);
      if (probe !== undefined && probe.origin !== origin) {
        this.#stop(probe);
        probe = undefined;
      }
      if (probe === undefined) {
        probe = new Probe(e.name, origin, this.options.timeoutMs);
        this.#schedule(probe, this.#rng.below(this.#jitterMs + 1));
      }
      next.set(e.name, probe);
    }
    for (const [name, probe] of this.#probes) if (!next.has(name)) this.#stop(probe);
    this.#probes = next;
  }

  /** The endpoint's health as the checks last said; null for a name not checked. */
  state(name: string): HealthState | null {
    return this.#probes.get(name)?.state ?? null;
  }

  /**
   * Stops every timer and check, closes every connection, and lifts the marks the checks set (an
   * endpoint is not left out of rotation with nobody to bring it back). Idempotent.
   */
  async close(): Promise<void> {
    this.#closed = true;
    for (const probe of this.#probes.values()) this.#stop(probe);
    this.#probes.clear();
    await Promise.all(this.#closing);
  }

  #stop(probe: Probe): void {
    probe.stopped = true;
    if (probe.timer !== null) this.#scheduler.clearTimeout(probe.timer);
    probe.timer = null;
    probe.abort?.abort();
    if (probe.state === 'unhealthy') this.#board.setDown(probe.name, 'failed-check', false);
    const closing = probe.client.destroy().finally(() => this.#closing.delete(closing));
    this.#closing.add(closing);
  }

  #enter(probe: Probe, state: HealthState): void {
    probe.state = state;
    probe.run = 0;
  }

  #schedule(probe: Probe, delayMs: number): void {
    probe.timer = this.#scheduler.setTimeout(() => {
      probe.timer = null;
      void this.#check(probe);
    }, delayMs);
  }

  async #check(probe: Probe): Promise<void> {
    const abort = new AbortController();
    probe.abort = abort;
    const timer = this.#scheduler.setTimeout(() => abort.abort(), this.options.timeoutMs);
    let passed = false;
    let cause: string;
    try {
      const res = await probe.client.request({ path: this.options.path, method: 'GET', signal: abort.signal, headers: { 'user-agent': 'shardgate-health-check' } });
      // Read the body so that the connection can carry the next check.
      await res.body.dump({ limit: 65_536, signal: abort.signal });
      passed = res.statusCode >= 200 && res.statusCode <= 399;
      cause = `status ${res.statusCode}`;
    } catch (e) {
      cause = abort.signal.aborted ? 'timeout' : failureCause(e);
    } finally {
      this.#scheduler.clearTimeout(timer);
      probe.abort = null;
    }
    if (probe.stopped) return;
    this.#result(probe, passed, cause);
    this.#schedule(probe, this.options.intervalMs + this.#rng.below(this.#jitterMs + 1));
  }

  #result(probe: Probe, passed: boolean, cause: string): void {
    const o = this.options;
    const before = probe.state;
    switch (before) {
      case 'unknown':
        probe.state = passed ? 'healthy' : 'unhealthy';
        probe.run = 0;
        break;
      case 'healthy':
        if (passed) probe.run = 0;
        else if (++probe.run >= o.unhealthyThreshold) this.#enter(probe, 'unhealthy');
        break;
      case 'unhealthy':
        if (!passed) probe.run = 0;
        else if (++probe.run >= o.healthyThreshold) this.#enter(probe, 'healthy');
        break;
    }
    // Asserted after every check, not only on change: the board forgets marks of a name that left
    // its set and came back, and this puts them back.
    this.#board.setDown(probe.name, 'failed-check', probe.state === 'unhealthy');
    const emit = this.#onEvent;
    if (emit === null) return;
    emit({ kind: 'checked', endpoint: probe.name, passed, cause });
    if (probe.state === 'unhealthy' && before !== 'unhealthy') emit({ kind: 'down', endpoint: probe.name, cause });
    else if (probe.state !== 'unhealthy' && before === 'unhealthy') emit({ kind: 'up', endpoint: probe.name });
  }
}

/** The code of a connection failure (`ECONNREFUSED`, `UND_ERR_SOCKET`), else its message. */
function failureCause(e: unknown): string {
  if (typeof e === 'object' && e !== null) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    const message = (e as { message?: unknown }).message;
    if (typeof message === 'string') return message;
  }
  return String(e);
}
