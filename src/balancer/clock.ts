/** Time as algorithms see it: injected, monotonic, in milliseconds. */
export interface Clock {
  nowMs(): number;
}

/** The process's monotonic clock; algorithms receive it, they never read time themselves. */
export const monotonicClock: Clock = { nowMs: () => performance.now() };

/** A clock that moves only when told to: for tests and simulations. */
export class ManualClock implements Clock {
  #now: number;
  constructor(startMs = 0) {
    this.#now = startMs;
  }
  nowMs(): number {
    return this.#now;
  }
  advance(ms: number): void {
    this.#now += ms;
  }
}
