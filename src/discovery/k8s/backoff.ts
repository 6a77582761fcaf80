/**
 * Exponential backoff with jitter for reconnecting to the API server: the delay doubles from
 * `initialMs` up to `maxMs`, and each wait is drawn uniformly from its upper half ("equal jitter",
 * https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/), so that many proxies
 * cut off together do not come back in step, yet none retries at once. Randomness is injected.
 */
import type { Rng } from '../../balancer/rng.js';

export interface BackoffOptions {
  readonly initialMs?: number;
  readonly maxMs?: number;
}

export const DEFAULT_BACKOFF_INITIAL_MS = 500;
export const DEFAULT_BACKOFF_MAX_MS = 30_000;

export class Backoff {
  readonly #initialMs: number;
  readonly #maxMs: number;
  readonly #rng: Rng;
  #attempt = 0;

  constructor(rng: Rng, options: BackoffOptions = {}) {
    this.#initialMs = options.initialMs ?? DEFAULT_BACKOFF_INITIAL_MS;
    this.#maxMs = options.maxMs ?? DEFAULT_BACKOFF_MAX_MS;
    if (!(this.#initialMs > 0) || !(this.#maxMs >= this.#initialMs)) {
      throw new RangeError(`backoff: initialMs (${this.#initialMs}) must be > 0 and maxMs (${this.#maxMs}) >= initialMs`);
    }
    this.#rng = rng;
  }

  /**
   * The wait before the next attempt; each call lengthens the following one. `atLeastMs` is a wait
   * the server asked for (Retry-After): honoured, but never beyond `maxMs`, so that a server asking
   * for an hour is still tried again within the backoff's bound.
   */
  nextDelayMs(atLeastMs = 0): number {
    // Capped exponent: 2^31 would overflow nothing here, but the cap keeps the arithmetic small.
    const ceiling = Math.min(this.#maxMs, this.#initialMs * 2 ** Math.min(this.#attempt, 30));
    this.#attempt++;
    const half = ceiling / 2;
    return Math.max(Math.round(half + (this.#rng.nextUint32() / 2 ** 32) * half), Math.min(atLeastMs, this.#maxMs));
  }

  /** After a success: the next failure waits the shortest time again. */
  reset(): void {
    this.#attempt = 0;
  }
}
