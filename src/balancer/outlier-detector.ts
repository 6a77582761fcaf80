/**
 * Passive outlier detection with Envoy's semantics and defaults
 * (envoy source/common/upstream/outlier_detection_impl.cc; docs arch_overview/upstream/outlier):
 * an endpoint whose real responses fail is ejected (taken out of rotation through the load
 * board's `ejected` mark) for a while, longer each time it is ejected again.
 *
 * Detectors:
 * - consecutive 5xx (5, enforced 100%) and consecutive gateway failure (502, 503, 504; 5, enforced
 *   0%): checked on every `record`, ejecting at once when the run reaches the threshold. The run's
 *   counter restarts after a detection, ejected or not.
 * - success rate (at least 5 endpoints with 100 requests each in the last interval; an endpoint
 *   below mean - 1.9 x stdev is ejected, enforced 100%) and failure percentage (85% failed, 5
 *   endpoints with 50 requests, enforced 0%): on every `tick`, over the interval just ended.
 *
 * Failures not sent by the endpoint count as Envoy counts them when
 * split_external_local_origin_errors is false: a connect failure or reset as 503, a timeout as 504
 * (both 5xx and gateway failures); `cancelled` is the client's doing and is not counted.
 *
 * Ejection time is base_ejection_time x the endpoint's multiplier, at most max_ejection_time, plus
 * jitter. Each ejection raises the multiplier by one (while base x multiplier < max + base); each
 * interval the endpoint spends back in rotation, from one interval after its return, lowers it by
 * one. Readmission happens on the first tick after the time is up, as Envoy's interval timer does.
 *
 * How many may be out at once (max_ejection_percent, 10): Envoy before 1.31 ejected while
 * `100 x ejected / total < max`, which let the first endpoint go even in a set of two. Since 1.31
 * (checked against the source) it ejects only while `100 x (ejected + 1) / total <= max`, so a set
 * of fewer than ten ejects nothing unless `always_eject_one_host` is set. We follow 1.31 but turn
 * `alwaysEjectOneHost` ON by default: StatefulSets are mostly smaller than ten pods, and detection
 * that never ejects is no detection. One guard of our own stands in for Envoy's panic routing
 * (which sends traffic to every host when too few are healthy): the last endpoint in rotation is
 * never ejected, so passive health alone cannot turn 5xx into an outage of 503s.
 *
 * Pure and deterministic: no timers. The owner calls `record` when a request ends (with the
 * outcome it gave `done`) and `tick` every `intervalMs`; the Rng decides enforcement percentages
 * and jitter; ejection time is read from the board's clock, which `tick`'s time must share.
 * `record` costs a Map lookup and, after an endpoint's first, allocates nothing; ejections and
 * ticks may allocate.
 */
import type { Outcome } from './balancer.js';
import type { EndpointSet } from './endpoint.js';
import type { EndpointLoad, LoadBoard } from './load-board.js';
import { OptionReader } from './option-reader.js';
import type { Rng } from './rng.js';

export interface OutlierOptions {
  /** Time between sweeps: success rate, failure percentage, readmission, multiplier decay. */
  readonly intervalMs: number;
  /** Ejection time per unit of the multiplier. */
  readonly baseEjectionTimeMs: number;
  /** Longest ejection (before jitter); at least baseEjectionTimeMs. */
  readonly maxEjectionTimeMs: number;
  /** Up to this much is added at random to each ejection, so that endpoints don't return together. */
  readonly maxEjectionTimeJitterMs: number;
  /** Most endpoints out at once, in percent of the set. */
  readonly maxEjectionPercent: number;
  /** Let one endpoint be ejected whatever maxEjectionPercent says (Envoy's always_eject_one_host). */
  readonly alwaysEjectOneHost: boolean;
  /** 5xx responses in a row that eject; 0 turns the detector off. */
  readonly consecutive5xx: number;
  /** Percent chance that a detection is enforced (the rest are reported as `spared`). */
  readonly enforcingConsecutive5xx: number;
  /** 502, 503 or 504 responses in a row that eject; 0 turns the detector off. */
  readonly consecutiveGatewayFailure: number;
  readonly enforcingConsecutiveGatewayFailure: number;
  /** Endpoints with enough requests needed before success rates are compared. */
  readonly successRateMinimumHosts: number;
  /** Requests in the last interval for an endpoint's success rate to count. */
  readonly successRateRequestVolume: number;
  /** Standard deviations below the mean that eject, in thousandths (Envoy's integer: 1900 is 1.9). */
  readonly successRateStdevFactor: number;
  readonly enforcingSuccessRate: number;
  /** Failed percentage of the last interval's requests that ejects. */
  readonly failurePercentageThreshold: number;
  readonly enforcingFailurePercentage: number;
  readonly failurePercentageMinimumHosts: number;
  readonly failurePercentageRequestVolume: number;
}

/** Envoy's defaults, but for alwaysEjectOneHost (see the module comment). */
export const DEFAULT_OUTLIER: OutlierOptions = Object.freeze({
  intervalMs: 10_000,
  baseEjectionTimeMs: 30_000,
  maxEjectionTimeMs: 300_000,
  maxEjectionTimeJitterMs: 0,
  maxEjectionPercent: 10,
  alwaysEjectOneHost: true,
  consecutive5xx: 5,
  enforcingConsecutive5xx: 100,
  consecutiveGatewayFailure: 5,
  enforcingConsecutiveGatewayFailure: 0,
  successRateMinimumHosts: 5,
  successRateRequestVolume: 100,
  successRateStdevFactor: 1_900,
  enforcingSuccessRate: 100,
  failurePercentageThreshold: 85,
  enforcingFailurePercentage: 0,
  failurePercentageMinimumHosts: 5,
  failurePercentageRequestVolume: 50,
});

const DAY_MS = 86_400_000;
const COUNT_LIMIT = 1_000_000;

/**
 * Options as config gives them, defaults filled in. A missing maxEjectionTimeMs is the larger of
 * its default and baseEjectionTimeMs, as in Envoy.
 * @throws ConfigError SG_ERR_HEALTH naming `${field}.<setting>`, the value and what is allowed
 */
export function validateOutlierOptions(raw: unknown, field: string): OutlierOptions {
  const r = new OptionReader(raw, field, 'SG_ERR_HEALTH', Object.keys(DEFAULT_OUTLIER));
  const d = DEFAULT_OUTLIER;
  const percent = (key: keyof OutlierOptions, what: string): number => r.int(key, 0, 100, d[key] as number, `${what}, in percent,`);
  const count = (key: keyof OutlierOptions, what: string): number => r.int(key, 0, COUNT_LIMIT, d[key] as number, what);
  const base = r.int('baseEjectionTimeMs', 1, DAY_MS, d.baseEjectionTimeMs, 'the ejection time per ejection, in milliseconds,');
  const maxDefault = Math.max(d.maxEjectionTimeMs, base);
  const max = r.int('maxEjectionTimeMs', 1, DAY_MS, maxDefault, 'the longest ejection, in milliseconds,');
  if (max < base) r.fail('maxEjectionTimeMs', max, `the longest ejection cannot be shorter than baseEjectionTimeMs (${base}); raise it or lower baseEjectionTimeMs`);
  return Object.freeze({
    intervalMs: r.int('intervalMs', 1, DAY_MS, d.intervalMs, 'the time between sweeps, in milliseconds,'),
    baseEjectionTimeMs: base,
    maxEjectionTimeMs: max,
    maxEjectionTimeJitterMs: r.int('maxEjectionTimeJitterMs', 0, DAY_MS, d.maxEjectionTimeJitterMs, 'the most jitter added to an ejection, in milliseconds,'),
    maxEjectionPercent: percent('maxEjectionPercent', 'the most endpoints ejected at once'),
    alwaysEjectOneHost: r.bool('alwaysEjectOneHost', d.alwaysEjectOneHost, 'whether one endpoint may always be ejected'),
    consecutive5xx: count('consecutive5xx', 'the 5xx responses in a row that eject (0: off)'),
    enforcingConsecutive5xx: percent('enforcingConsecutive5xx', 'the chance a consecutive-5xx detection ejects'),
    consecutiveGatewayFailure: count('consecutiveGatewayFailure', 'the 502/503/504 responses in a row that eject (0: off)'),
    enforcingConsecutiveGatewayFailure: percent('enforcingConsecutiveGatewayFailure', 'the chance a consecutive-gateway-failure detection ejects'),
    successRateMinimumHosts: count('successRateMinimumHosts', 'the endpoints with enough requests needed to compare success rates'),
    successRateRequestVolume: count('successRateRequestVolume', 'the requests per interval an endpoint needs for its success rate to count'),
    successRateStdevFactor: count('successRateStdevFactor', 'the standard deviations below the mean that eject, in thousandths (1900 is 1.9),'),
    enforcingSuccessRate: percent('enforcingSuccessRate', 'the chance a success-rate detection ejects'),
    failurePercentageThreshold: percent('failurePercentageThreshold', 'the failed share of requests that ejects'),
    enforcingFailurePercentage: percent('enforcingFailurePercentage', 'the chance a failure-percentage detection ejects'),
    failurePercentageMinimumHosts: count('failurePercentageMinimumHosts', 'the endpoints with enough requests needed for failure percentages'),
    failurePercentageRequestVolume: count('failurePercentageRequestVolume', 'the requests per interval an endpoint needs for its failure percentage to count'),
  });
}

export type EjectionReason = 'consecutive-5xx' | 'consecutive-gateway-failure' | 'success-rate' | 'failure-percentage';

/** Why a detected outlier stayed in rotation. */
export type SparedBecause =
  /** Ejecting it would put more than maxEjectionPercent out. */
  | 'max-ejection-percent'
  /** The detector's enforcing percentage said no this time. */
  | 'not-enforced'
  /** It is the last endpoint in rotation. */
  | 'last-available';

export type OutlierEvent =
  | { readonly kind: 'ejected'; readonly endpoint: string; readonly reason: EjectionReason; readonly durationMs: number; readonly ejections: number }
  | { readonly kind: 'readmitted'; readonly endpoint: string; readonly ejectedForMs: number }
  | { readonly kind: 'spared'; readonly endpoint: string; readonly reason: EjectionReason; readonly because: SparedBecause };

/** The HTTP status Envoy's router reports to outlier detection for a request's end. */
export function statusForOutlier(outcome: Outcome, httpStatus: number): number {
  switch (outcome) {
    case 'connect-failed':
    case 'reset':
      return 503;
    case 'timeout':
      return 504;
    case 'http-5xx':
      return httpStatus >= 500 && httpStatus <= 599 ? httpStatus : 500;
    default:
      return httpStatus > 0 ? httpStatus : 200;
  }
}

/** One endpoint's record, kept by name while its load (the same EndpointLoad) stays in the set. */
class HostState {
  readonly name: string;
  readonly load: EndpointLoad;
  /** The address the record is about: a pod at a new address is a new host. */
  readonly address: string;
  consecutive5xx = 0;
  consecutiveGateway = 0;
  ejected = false;
  ejectedAtMs = 0;
  /** This ejection's length, jitter included. */
  ejectionMs = 0;
  /** Why it was ejected last. */
  reason: EjectionReason | null = null;
  /** Envoy's ejectTimeBackoff: ejection time is base x this, at most max. */
  multiplier = 0;
  ejections = 0;
  /** When it last came back, -1 if never ejected. */
  readmittedAtMs = -1;
  requests = 0;
  successes = 0;
  /** The interval just ended (Envoy's backup bucket): what success rate reads. */
  lastRequests = 0;
  lastSuccesses = 0;

  constructor(name: string, load: EndpointLoad) {
    this.name = name;
    this.load = load;
    this.address = load.endpoint.address;
  }

  lastSuccessRate(): number {
    return (this.lastSuccesses * 100) / this.lastRequests;
  }
}

/** One endpoint's state as the detector sees it, for diagnostics. */
export interface OutlierHostView {
  readonly ejected: boolean;
  readonly ejections: number;
  readonly multiplier: number;
  readonly consecutive5xx: number;
  readonly consecutiveGatewayFailure: number;
  /** While ejected: when the ejection ends (the board clock's time; readmission comes at the next tick), and why. */
  readonly ejectedUntilMs: number | null;
  readonly reason: EjectionReason | null;
}

export interface OutlierDetectorDeps {
  readonly board: LoadBoard;
  readonly rng: Rng;
  /** Validated already, or partial: what is missing takes the default. */
  readonly options?: Partial<OutlierOptions>;
  /** Told of every ejection, readmission and spared outlier, synchronously: for logs and metrics. */
  readonly onEvent?: (event: OutlierEvent) => void;
}

export class OutlierDetector {
  readonly options: OutlierOptions;
  readonly #board: LoadBoard;
  readonly #rng: Rng;
  readonly #onEvent: ((event: OutlierEvent) => void) | null;
  #hosts = new Map<string, HostState>();
  #set: EndpointSet | null = null;
  #ejected = 0;

  constructor(deps: OutlierDetectorDeps) {
    this.#board = deps.board;
    this.#rng = deps.rng;
    this.options = validateOutlierOptions(deps.options ?? {}, 'outlierDetection');
    this.#onEvent = deps.onEvent ?? null;
  }

  /** Endpoints ejected now. */
  get ejectedCount(): number {
    this.#sync();
    return this.#ejected;
  }

  isEjected(name: string): boolean {
    return this.#host(name)?.ejected ?? false;
  }

  view(name: string): OutlierHostView | null {
    const h = this.#host(name);
    if (h === null) return null;
    return { ejected: h.ejected, ejections: h.ejections, multiplier: h.multiplier, consecutive5xx: h.consecutive5xx, consecutiveGatewayFailure: h.consecutiveGateway, ejectedUntilMs: h.ejected ? h.ejectedAtMs + h.ejectionMs : null, reason: h.ejected ? h.reason : null };
  }

  /**
   * A request to `name` ended. `outcome` is what its `done` got; `httpStatus` the response status,
   * or 0 when there was none. Unknown names (an endpoint already gone) are ignored.
   */
  record(name: string, outcome: Outcome, httpStatus = 0): void {
    if (outcome === 'cancelled') return;
    const h = this.#host(name);
    if (h === null) return;
    const status = statusForOutlier(outcome, httpStatus);
    h.requests++;
    if (status < 500 || status > 599) {
      h.successes++;
      h.consecutive5xx = 0;
      h.consecutiveGateway = 0;
      return;
    }
    const o = this.options;
    // Gateway first, as Envoy posts them: one response can complete both runs.
    if (status >= 502 && status <= 504) {
      if (++h.consecutiveGateway === o.consecutiveGatewayFailure) this.#consecutive(h, 'consecutive-gateway-failure');
    } else {
      h.consecutiveGateway = 0;
    }
    if (++h.consecutive5xx === o.consecutive5xx) this.#consecutive(h, 'consecutive-5xx');
  }

  /**
   * The interval sweep, every `intervalMs` from the owner's timer: readmits endpoints whose time
   * is up, closes the interval's counts, runs success rate and failure percentage over them, and
   * lowers the multiplier of endpoints that stayed in rotation.
   */
  tick(nowMs: number = this.#board.clock.nowMs()): void {
    this.#sync();
    for (const h of this.#hosts.values()) {
      if (h.ejected && nowMs - h.ejectedAtMs >= h.ejectionMs) this.#readmit(h, nowMs);
      h.lastRequests = h.requests;
      h.lastSuccesses = h.successes;
      h.requests = 0;
      h.successes = 0;
    }
    this.#sweep(nowMs);
    const interval = this.options.intervalMs;
    for (const h of this.#hosts.values()) {
      if (!h.ejected && h.multiplier > 0 && h.readmittedAtMs >= 0 && nowMs - h.readmittedAtMs >= interval) h.multiplier--;
    }
  }

  /**
   * Ends `name`'s ejection now, with its counters cleared: for an active health check that passes
   * (Envoy's successful_active_health_check_uneject_host). No-op when it is not ejected.
   */
  readmit(name: string): void {
    const h = this.#host(name);
    if (h !== null && h.ejected) this.#readmit(h, this.#board.clock.nowMs());
  }

  /** Lifts every ejection (detection turned off or replaced); the detector may be used again. */
  close(): void {
    this.#sync();
    const now = this.#board.clock.nowMs();
    for (const h of this.#hosts.values()) if (h.ejected) this.#readmit(h, now);
  }

  #consecutive(h: HostState, reason: EjectionReason): void {
    // Envoy leaves the run counting while the endpoint is out; readmission resets it.
    if (h.ejected) return;
    this.#eject(h, reason, this.#board.clock.nowMs());
    if (reason === 'consecutive-5xx') h.consecutive5xx = 0;
    else h.consecutiveGateway = 0;
  }

  #sweep(nowMs: number): void {
    const o = this.options;
    const total = this.#board.loads.length;
    if (total < o.successRateMinimumHosts && total < o.failurePercentageMinimumHosts) return;
    const rated: HostState[] = [];
    const failing: HostState[] = [];
    let sum = 0;
    for (const h of this.#hosts.values()) {
      if (h.ejected || h.lastRequests === 0) continue;
      if (h.lastRequests >= o.successRateRequestVolume) {
        rated.push(h);
        sum += h.lastSuccessRate();
      }
      if (h.lastRequests >= o.failurePercentageRequestVolume) failing.push(h);
    }
    if (rated.length > 0 && rated.length >= o.successRateMinimumHosts) {
      const mean = sum / rated.length;
      let variance = 0;
      for (const h of rated) variance += (h.lastSuccessRate() - mean) ** 2;
      const stdev = Math.sqrt(variance / rated.length);
      const threshold = mean - (o.successRateStdevFactor / 1000) * stdev;
      for (const h of rated) if (!h.ejected && h.lastSuccessRate() < threshold) this.#eject(h, 'success-rate', nowMs);
    }
    if (failing.length > 0 && failing.length >= o.failurePercentageMinimumHosts) {
      for (const h of failing) {
        if (!h.ejected && 100 - h.lastSuccessRate() >= o.failurePercentageThreshold) this.#eject(h, 'failure-percentage', nowMs);
      }
    }
  }

  #eject(h: HostState, reason: EjectionReason, nowMs: number): void {
    const o = this.options;
    const board = this.#board;
    const total = board.loads.length;
    const withinPercent = (100 * (this.#ejected + 1)) / total <= o.maxEjectionPercent;
    if (!withinPercent && !(o.alwaysEjectOneHost && this.#ejected === 0)) return this.#spare(h, reason, 'max-ejection-percent');
    if (h.load.available && board.availableCount <= 1) return this.#spare(h, reason, 'last-available');
    if (!this.#enforced(reason)) return this.#spare(h, reason, 'not-enforced');
    h.ejected = true;
    h.reason = reason;
    this.#ejected++;
    h.ejections++;
    h.ejectedAtMs = nowMs;
    const base = o.baseEjectionTimeMs;
    const max = o.maxEjectionTimeMs;
    if (h.multiplier * base < max + base) h.multiplier++;
    const jitter = o.maxEjectionTimeJitterMs > 0 ? this.#rng.below(o.maxEjectionTimeJitterMs + 1) : 0;
    h.ejectionMs = Math.min(base * h.multiplier, max) + jitter;
    board.setDown(h.name, 'ejected', true);
    this.#onEvent?.({ kind: 'ejected', endpoint: h.name, reason, durationMs: h.ejectionMs, ejections: h.ejections });
  }

  #readmit(h: HostState, nowMs: number): void {
    h.ejected = false;
    this.#ejected--;
    // Envoy clears the runs so that an endpoint one failure short of a threshold is not sent
    // straight back out.
    h.consecutive5xx = 0;
    h.consecutiveGateway = 0;
    h.readmittedAtMs = nowMs;
    this.#board.setDown(h.name, 'ejected', false);
    this.#onEvent?.({ kind: 'readmitted', endpoint: h.name, ejectedForMs: nowMs - h.ejectedAtMs });
  }

  #spare(h: HostState, reason: EjectionReason, because: SparedBecause): void {
    this.#onEvent?.({ kind: 'spared', endpoint: h.name, reason, because });
  }

  #enforced(reason: EjectionReason): boolean {
    const o = this.options;
    const percent =
      reason === 'consecutive-5xx' ? o.enforcingConsecutive5xx
      : reason === 'consecutive-gateway-failure' ? o.enforcingConsecutiveGatewayFailure
      : reason === 'success-rate' ? o.enforcingSuccessRate
      : o.enforcingFailurePercentage;
    // Draw only when the answer is in doubt, so that 0 and 100 leave the Rng's stream alone.
    return percent >= 100 || (percent > 0 && this.#rng.below(100) < percent);
  }

  #host(name: string): HostState | null {
    this.#sync();
    let h = this.#hosts.get(name);
    if (h === undefined) {
      const load = this.#board.load(name);
      if (load === undefined) return null;
      h = new HostState(name, load);
      this.#hosts.set(name, h);
    }
    return h;
  }

  /**
   * Follows the board's set: an endpoint that left it (or left and came back: a new load), or whose
   * address changed (a pod rescheduled with a new IP), is forgotten, ejection and multiplier
   * included, as Envoy drops a removed host's monitor; the board has already dropped its mark.
   */
  #sync(): void {
    const board = this.#board;
    if (board.set === this.#set) return;
    this.#set = board.set;
    for (const [name, h] of this.#hosts) {
      if (board.load(name) === h.load && h.load.endpoint.address === h.address) continue;
      this.#hosts.delete(name);
      if (h.ejected) this.#ejected--;
    }
  }
}
