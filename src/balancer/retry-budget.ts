/**
 * Envoy's retry budget (cluster circuit_breakers.thresholds.retry_budget;
 * source/common/upstream/resource_manager_impl.h): retries in flight at once may not exceed
 * max(min_retry_concurrency, floor(budget_percent / 100 x active requests)). A fixed count of
 * retries per request multiplies load when the endpoints are already failing; a budget scales
 * with traffic and caps the extra load at a fifth by default, while the floor lets a quiet proxy
 * still retry.
 *
 * Pure and synchronous: the owner asks before each retry and releases when that retry ends.
 * `activeRequests` is what Envoy counts, requests in flight plus queued ones, retries included.
 */
import { OptionReader } from './option-reader.js';

export interface RetryBudgetOptions {
  /** Retries allowed in flight, in percent of the active requests. */
  readonly budgetPercent: number;
  /** Retries always allowed in flight, however few requests are active. */
  readonly minRetryConcurrency: number;
}

/** Envoy's defaults. */
export const DEFAULT_RETRY_BUDGET: RetryBudgetOptions = Object.freeze({ budgetPercent: 20, minRetryConcurrency: 3 });

/**
 * Options as config gives them, defaults filled in.
 * @throws ConfigError SG_ERR_RETRY naming `${field}.<setting>`, the value and what is allowed
 */
export function validateRetryBudgetOptions(raw: unknown, field: string): RetryBudgetOptions {
  const r = new OptionReader(raw, field, 'SG_ERR_RETRY', Object.keys(DEFAULT_RETRY_BUDGET));
  return Object.freeze({
    budgetPercent: r.number('budgetPercent', 0, 100, DEFAULT_RETRY_BUDGET.budgetPercent, 'the retries allowed in flight, in percent of active requests,'),
    minRetryConcurrency: r.int('minRetryConcurrency', 0, 1_000_000, DEFAULT_RETRY_BUDGET.minRetryConcurrency, 'the retries always allowed in flight'),
  });
}

export class RetryBudget {
  readonly options: RetryBudgetOptions;
  #active = 0;

  constructor(options: Partial<RetryBudgetOptions> = {}) {
    this.options = validateRetryBudgetOptions(options, 'retryBudget');
  }

  /** Retries in flight now. */
  get active(): number {
    return this.#active;
  }

  /** The most retries allowed in flight while `activeRequests` requests are active. */
  limit(activeRequests: number): number {
    const share = Math.floor((this.options.budgetPercent / 100) * activeRequests);
    return share > this.options.minRetryConcurrency ? share : this.options.minRetryConcurrency;
  }

  /** Takes a slot for one retry if the budget has room; a `true` must be paired with one `release()`. */
  tryAcquire(activeRequests: number): boolean {
    if (this.#active >= this.limit(activeRequests)) return false;
    this.#active++;
    return true;
  }

  /** The retry ended (whatever its outcome). A release without an acquire is ignored. */
  release(): void {
    if (this.#active > 0) this.#active--;
  }
}
