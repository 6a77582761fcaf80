/**
 * Retries on another endpoint, and when they are safe.
 *
 * Key affinity and "try elsewhere" pull against each other, so the default is narrow (the lesson
 * of Envoy's reset-before-request and HAProxy's conn-failure default): a request that provably
 * never reached a pod (connect failure or timeout, HTTP/2 REFUSED_STREAM, a stream above GOAWAY's
 * last stream id) is retried for any method, and so is one whose connection the pod's kernel reset
 * before any byte of the response (`unread-reset`: an RST answers bytes the application never
 * read). A connection closed after the request was sent (`reset`), or a 502/503/504 from the pod,
 * may have had effects: retried only for idempotent methods (RFC 9110 section 9.2.2), unless
 * `nonIdempotent` says the service tolerates replays. Timeouts (`timeout`, no response head in
 * time) are retried only when asked: the pod may still be working, and the client has waited.
 *
 * A retry goes to the key's next owner in its preference order (the endpoints tried are
 * excluded), so a keyed request lands where the key would live if its owner were gone; a keyless
 * one to any other endpoint. A request whose body has already streamed to a pod cannot be replayed
 * and is not retried (buffered bodies can be). A budget (Linkerd's: retries at most 20% of
 * requests, plus 10 a second, over 10 s; src/balancer/retry-budget.ts) keeps retries from
 * multiplying load on a sick service: it pays for the retries of what a pod answered (5xx) or did
 * not answer in time, the signs of overload.
 * Retries after the connection to a pod failed (not made, refused, reset before any response) are
 * outside it, as HAProxy's redispatch after a connection failure is: that is how a pod that died
 * or restarted looks, and its requests in flight all fail at once, a quarter of them with four
 * pods, past any budget; a budget spent on them turns one pod gone into 502s while the other pods
 * have room. `retries` still bounds them.
 */
import type { Readable } from 'node:stream';
import { ConfigError } from '../errors.js';
import type { RetryCondition, RetryOptions } from './retry-options.js';
import { MAX_RETRIES } from './retry-options.js';
import type { RetryAttempt, RetryPolicy } from './exchange.js';
import type { UpstreamFailure } from './upstream-failure.js';
import { FAILURES } from './upstream-failure.js';

/** What the retry budget must offer (src/balancer/retry-budget.ts). */
export interface RetryBudgetLike {
  /** A request started. */
  deposit(): void;
  /** One retry, if the budget has it. */
  tryWithdraw(): boolean;
}

export type { RetryCondition, RetryOptions } from './retry-options.js';
export { DEFAULT_RETRY_OPTIONS, RETRY_CONDITIONS, parseRetryOn } from './retry-options.js';

const IDEMPOTENT: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/**
 * The retry rules and their budget, shared by every front that routes with one data plane (the
 * proxy, the client library): the caller redispatches, on the key's next owner, when `allows` says
 * yes. Counts for metrics.
 */
export class Retrier implements RetryPolicy {
  readonly #options: RetryOptions;
  readonly #on: ReadonlySet<RetryCondition>;
  readonly #budget: RetryBudgetLike;
  /** Retries made and retries refused by the budget, for metrics. */
  retriedCount = 0;
  budgetRefused = 0;

  constructor(options: RetryOptions, budget: RetryBudgetLike) {
    if (!Number.isInteger(options.retries) || options.retries < 0 || options.retries > MAX_RETRIES) {
      throw new ConfigError('SG_ERR_CONFIG', 'retries.retries', `is ${String(options.retries)}: use an integer from 0 to ${MAX_RETRIES}`);
    }
    this.#options = options;
    this.#on = new Set(options.retryOn);
    this.#budget = budget;
  }

  /** Retries after the first attempt. */
  get maxRetries(): number {
    return this.#options.retries;
  }

  allows(attempt: RetryAttempt, failure: UpstreamFailure | null, status: number): boolean {
    if (attempt.attempt > this.#options.retries) return false;
    if (!this.#applies(attempt, failure, status)) return false;
    if (!replayable(attempt, failure)) return false;
    // A retry after an answer (5xx) or a timeout is paid from the budget.
    if ((failure === null || failure.outcome === 'timeout') && !this.#budget.tryWithdraw()) {
      this.budgetRefused++;
      return false;
    }
    return true;
  }

  retried(): void {
    this.retriedCount++;
  }

  /** A request started: it adds its share to the budget. */
  requested(): void {
    this.#budget.deposit();
  }

  #applies(exchange: RetryAttempt, failure: UpstreamFailure | null, status: number): boolean {
    const on = this.#on;
    if (failure !== null && failure.unsent) {
      return failure === FAILURES.refusedStream ? on.has('refused-stream') : on.has('connect-failure');
    }
    if (failure !== null && failure.unread && on.has('unread-reset')) return true;
    const method = exchange.request.method;
    if (!this.#options.nonIdempotent && !IDEMPOTENT.has(method)) return false;
    if (failure === FAILURES.timeout) return on.has('timeout');
    if (failure !== null) return failure.outcome === 'reset' && failure !== FAILURES.badResponse && on.has('reset');
    if (status === 502 || status === 503 || status === 504) return on.has('gateway-error') || on.has('5xx');
    return status >= 500 && on.has('5xx');
  }
}

/** The request can be sent again: no body, a buffered one, or a stream nobody has read yet. */
function replayable(exchange: RetryAttempt, failure: UpstreamFailure | null): boolean {
  const body = exchange.request.body;
  if (body === null || Buffer.isBuffer(body)) return true;
  const stream: Readable = body;
  return failure !== null && failure.unsent && !stream.readableDidRead && !stream.destroyed;
}
