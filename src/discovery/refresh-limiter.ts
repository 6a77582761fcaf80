/**
 * Refreshes on demand, at most once per `minGapMs`. A connect failure to a pod's address asks a
 * DNS source to resolve now (the pod may have come back at a new address), and while the record is
 * stale every request for that pod's keys fails the same way: a storm of failures must cost one
 * query per gap, not one per failure.
 *
 * The first request refreshes at once. Requests inside the gap are folded into one refresh when the
 * gap ends, not dropped: DNS often learns of the new address a moment after the pod has moved, and
 * passive health soon stops sending to the old address, so a later failure that would ask again
 * may never come. After that trailing refresh the next gap starts.
 *
 * Injected: the clock and the timers. The timer is unref'd: a pending refresh never keeps a
 * process up. `request()` is cheap enough for every failed connect: a clock read, and a timer at
 * most once per gap.
 */
import type { Clock } from '../balancer/clock.js';
import { monotonicClock } from '../balancer/clock.js';
import { ConfigError } from '../errors.js';
import { realTimers } from './static-file.js';
import type { Timers } from './static-file.js';

export interface RefreshLimiterOptions {
  /** Least time between the starts of two refreshes. */
  readonly minGapMs: number;
  readonly clock?: Clock;
  readonly timers?: Timers;
  /**
   * Told as each refresh starts, with the reason given to the latest `request()` before it (for
   * the log). Synchronous, before `refresh` is called.
   */
  readonly onRefresh?: (reason: string) => void;
}

export class RefreshLimiter {
  readonly #refresh: () => void;
  readonly #minGapMs: number;
  readonly #clock: Clock;
  readonly #timers: Timers;
  readonly #onRefresh: ((reason: string) => void) | null;
  /** When the last refresh started; null before the first. */
  #lastMs: number | null = null;
  /** The trailing refresh, armed by a request inside the gap. */
  #timer: NodeJS.Timeout | null = null;
  #reason = '';
  #closed = false;
  /** Refreshes started, for tests and metrics. */
  refreshes = 0;

  /**
   * @param refresh starts a refresh; it must not throw (a DNS source's `refresh()` never rejects,
   * and reports its own failures to its subscribers)
   * @throws ConfigError naming `minGapMs` when it is not a positive whole number of milliseconds
   */
  constructor(refresh: () => void, options: RefreshLimiterOptions) {
    if (!Number.isInteger(options.minGapMs) || options.minGapMs < 1) {
      throw new ConfigError('SG_ERR_CONFIG', 'minGapMs', `is ${String(options.minGapMs)}: use a whole number of milliseconds, at least 1`);
    }
    this.#refresh = refresh;
    this.#minGapMs = options.minGapMs;
    this.#clock = options.clock ?? monotonicClock;
    this.#timers = options.timers ?? realTimers;
    this.#onRefresh = options.onRefresh ?? null;
  }

  /** A refresh would help now: one starts at once, or when the gap since the last one ends. */
  request(reason: string): void {
    if (this.#closed) return;
    this.#reason = reason;
    if (this.#timer !== null) return;
    const now = this.#clock.nowMs();
    const last = this.#lastMs;
    if (last === null || now - last >= this.#minGapMs) {
      this.#start(now);
      return;
    }
    this.#timer = this.#timers.setTimeout(() => {
      this.#timer = null;
      if (!this.#closed) this.#start(this.#clock.nowMs());
    }, last + this.#minGapMs - now);
    this.#timer.unref();
  }

  /** Drops a pending refresh; later requests do nothing. Idempotent. */
  close(): void {
    this.#closed = true;
    if (this.#timer !== null) this.#timers.clearTimeout(this.#timer);
    this.#timer = null;
  }

  #start(nowMs: number): void {
    this.#lastMs = nowMs;
    this.refreshes++;
    this.#onRefresh?.(this.#reason);
    this.#refresh();
  }
}
