/**
 * A retry budget as Finagle's RetryBudget and Linkerd's (retryRatio 0.2, minRetriesPerSecond 10,
 * ttl 10 s): every request deposits `budgetPercent / 100` of a token, every retry withdraws a
 * whole one, deposits and withdrawals count for `budgetWindowMs`, and `minRetriesPerSecond` tokens a
 * second are there whatever the traffic. Over time retries stay within `budgetPercent` of
 * requests (plus the floor), so a sick service is not sent a multiple of its load; but a burst
 * spends what the last window saved. That burst is how one bad pod looks: its requests in flight
 * all fail together when it hangs (every one of them times out within a moment) or answers 503,
 * a quarter of all requests with four pods. A cap on retries in flight (Envoy's: at most 20% of
 * requests in flight, at least 3) refuses most of them, though the other pods have room.
 *
 * Pure and synchronous; time from the injected clock. The counts live in a ring of one-second
 * slices, reset as their second comes round again: a deposit is one increment, a withdrawal a sum
 * over the window's slices. No allocation after construction.
 */
import type { Clock } from './clock.js';
import { OptionReader } from './option-reader.js';

export interface RetryBudgetOptions {
  /** Each request adds this percentage of a retry to the budget. */
  readonly budgetPercent: number;
  /** Retries allowed each second however few requests there are. */
  readonly minRetriesPerSecond: number;
  /** How long deposits and retries count; whole seconds. */
  readonly budgetWindowMs: number;
}

/** Linkerd's defaults. */
export const DEFAULT_RETRY_BUDGET: RetryBudgetOptions = Object.freeze({ budgetPercent: 20, minRetriesPerSecond: 10, budgetWindowMs: 10_000 });

const MAX_WINDOW_MS = 60_000;

/**
 * Options as config gives them, defaults filled in.
 * @throws ConfigError SG_ERR_RETRY naming `${field}.<setting>`, the value and what is allowed
 */
export function validateRetryBudgetOptions(raw: unknown, field: string): RetryBudgetOptions {
  const r = new OptionReader(raw, field, 'SG_ERR_RETRY', Object.keys(DEFAULT_RETRY_BUDGET));
  const options = {
    budgetPercent: r.number('budgetPercent', 0, 1_000, DEFAULT_RETRY_BUDGET.budgetPercent, 'the retries each request adds to the budget, in percent,'),
    minRetriesPerSecond: r.int('minRetriesPerSecond', 0, 1_000_000, DEFAULT_RETRY_BUDGET.minRetriesPerSecond, 'the retries allowed each second whatever the traffic'),
    budgetWindowMs: r.int('budgetWindowMs', 1_000, MAX_WINDOW_MS, DEFAULT_RETRY_BUDGET.budgetWindowMs, 'how long requests and retries count, in milliseconds,'),
  };
  if (options.budgetWindowMs % 1_000 !== 0) r.fail('budgetWindowMs', options.budgetWindowMs, 'use whole seconds (a multiple of 1000)');
  return Object.freeze(options);
}

export class RetryBudget {
  readonly options: RetryBudgetOptions;
  readonly #clock: Clock;
  readonly #ratio: number;
  /** The second each slice holds, and what was deposited and withdrawn in it. */
  readonly #second: Float64Array;
  readonly #deposits: Float64Array;
  readonly #withdrawals: Float64Array;

  constructor(clock: Clock, options: Partial<RetryBudgetOptions> = {}) {
    this.options = validateRetryBudgetOptions(options, 'retryBudget');
    this.#clock = clock;
    this.#ratio = this.options.budgetPercent / 100;
    const slices = this.options.budgetWindowMs / 1_000;
    this.#second = new Float64Array(slices).fill(-1);
    this.#deposits = new Float64Array(slices);
    this.#withdrawals = new Float64Array(slices);
  }

  /** A request started: it adds its share to the budget. */
  deposit(): void {
    this.#deposits[this.#slice()]!++;
  }

  /** Takes one retry from the budget if there is one; false changes nothing. */
  tryWithdraw(): boolean {
    if (this.balance() < 1) return false;
    this.#withdrawals[this.#slice()]!++;
    return true;
  }

  /** Retries the budget allows now. */
  balance(): number {
    const now = this.#now();
    const slices = this.#second.length;
    let deposits = 0;
    let withdrawals = 0;
    for (let i = 0; i < slices; i++) {
      if (this.#second[i]! <= now - slices) continue;
      deposits += this.#deposits[i]!;
      withdrawals += this.#withdrawals[i]!;
    }
    return deposits * this.#ratio + this.options.minRetriesPerSecond * slices - withdrawals;
  }

  /** The current second's slice, emptied first if it last held an older second. */
  #slice(): number {
    const now = this.#now();
    const i = now % this.#second.length;
    if (this.#second[i] !== now) {
      this.#second[i] = now;
      this.#deposits[i] = 0;
      this.#withdrawals[i] = 0;
    }
    return i;
  }

  #now(): number {
    return Math.floor(this.#clock.nowMs() / 1_000);
  }
}
