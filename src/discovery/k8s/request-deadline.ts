/**
 * A deadline for one request to the API server, on injected timers: when it passes, the request's
 * signal aborts and the caller reports a RequestTimeoutError. It can be moved: a watch first gives
 * its response headers a deadline, then each chunk of its stream pushes an idle deadline forward,
 * so a connection that died silently (no FIN, no RST, as behind a dead load balancer) is abandoned
 * rather than waited on for ever.
 */
import type { Timers } from '../static-file.js';

/** A request to the API server got no (further) answer in time. */
export class RequestTimeoutError extends Error {
  /** What timed out: `list`, `watch` or `get`, for telling failure states apart. */
  readonly what: string;
  constructor(what: string, message: string) {
    super(message);
    this.name = 'RequestTimeoutError';
    this.what = what;
  }
}

export class RequestDeadline {
  readonly #timers: Timers;
  readonly #abort = new AbortController();
  readonly #outer: AbortSignal;
  readonly #onOuterAbort: () => void;
  #timer: NodeJS.Timeout | null = null;
  #expired = false;

  /** Aborts `signal` when `outer` aborts or `ms` pass, whichever comes first. */
  constructor(timers: Timers, outer: AbortSignal, ms: number) {
    this.#timers = timers;
    this.#outer = outer;
    this.#onOuterAbort = () => this.#abort.abort(outer.reason);
    if (outer.aborted) this.#abort.abort(outer.reason);
    else outer.addEventListener('abort', this.#onOuterAbort, { once: true });
    this.extend(ms);
  }

  /** The signal to give the request. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /** True when the deadline (not the outer signal) aborted the request. */
  get expired(): boolean {
    return this.#expired;
  }

  /** Moves the deadline to `ms` from now. */
  extend(ms: number): void {
    if (this.#timer !== null) this.#timers.clearTimeout(this.#timer);
    this.#timer = this.#timers.setTimeout(() => {
      this.#timer = null;
      this.#expired = true;
      this.#abort.abort(new RequestTimeoutError('deadline', `no answer within ${ms} ms`));
    }, ms);
  }

  /** Stops the timer and lets go of the outer signal: call when the request is over. */
  dispose(): void {
    if (this.#timer !== null) this.#timers.clearTimeout(this.#timer);
    this.#timer = null;
    this.#outer.removeEventListener('abort', this.#onOuterAbort);
  }
}
