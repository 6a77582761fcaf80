/**
 * A timeout that is set again and again, cheaply: a connection's "no response head within 30 s"
 * is set on every request, and a timer per request would cost a Timeout object and a timer-list
 * insertion each time. This one keeps a deadline and one Node timer: setting a later deadline
 * only moves the number, and the timer, when it fires early, sleeps again for what is left. A
 * timer is made anew only when a deadline comes before the pending timer fires (the first set,
 * or a set after `clear()` left the old timer to run out), so a connection that serves requests
 * back to back makes about one timer per timeout period, not one per request.
 *
 * Timers are unref'd: what keeps the process alive is the socket, not its timeouts. Time is read
 * from `performance.now()` (monotonic), only when a deadline is set or the timer fires.
 */
export class DeadlineTimer {
  readonly #expire: () => void;
  #timer: NodeJS.Timeout | null = null;
  /** When the pending timer fires, as performance.now(). */
  #firesAt = 0;
  /** When the deadline passes; 0: none. */
  #deadline = 0;
  readonly #onTimer = (): void => {
    this.#timer = null;
    const deadline = this.#deadline;
    if (deadline === 0) return;
    const left = deadline - performance.now();
    // Node fires no earlier than asked, by its loop clock, which may lag this one by a little.
    if (left >= 1) {
      this.#start(left, deadline);
      return;
    }
    this.#deadline = 0;
    this.#expire();
  };

  /** @param expire called once when a deadline passes (not after clear() or a later set()) */
  constructor(expire: () => void) {
    this.#expire = expire;
  }

  /** The deadline is `ms` from now, replacing any other; `ms <= 0` clears it (no timeout). */
  set(ms: number): void {
    if (ms <= 0) {
      this.#deadline = 0;
      return;
    }
    const deadline = performance.now() + ms;
    this.#deadline = deadline;
    if (this.#timer === null || this.#firesAt > deadline) this.#start(ms, deadline);
  }

  /** No deadline; the pending timer, if any, runs out doing nothing. */
  clear(): void {
    this.#deadline = 0;
  }

  get armed(): boolean {
    return this.#deadline !== 0;
  }

  /** Clears the deadline and stops the timer: its owner is gone. */
  dispose(): void {
    this.#deadline = 0;
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
  }

  #start(ms: number, deadline: number): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    const timer = setTimeout(this.#onTimer, Math.ceil(ms));
    timer.unref();
    this.#timer = timer;
    this.#firesAt = deadline;
  }
}
