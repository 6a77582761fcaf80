/**
 * The hottest routing keys, in fixed memory: Space-Saving (Metwally, Agrawal and El Abbadi,
 * "Efficient Computation of Frequent and Top-k Elements in Data Streams", ICDT 2005) over k
 * counters, with exponential time decay by forward decay (Cormode, Shkapenyuk, Srivastava and Xu,
 * "Forward Decay", ICDE 2009).
 *
 * Space-Saving keeps k (key, count, error) counters. A key already counted adds to its counter; a
 * new key takes over the smallest counter, inheriting its count as its error. Over a stream of
 * weight n: every key whose true weight exceeds n/k holds a counter, and a counter's count
 * overstates its key's true weight by at most its error, itself at most n/k (the smallest count).
 * The guarantees hold for weighted items, which is what makes decay cheap: a request at time t
 * weighs exp((t - t0)/tau) instead of 1, so that every count, read at time now and multiplied by
 * exp(-(now - t0)/tau), is the key's exponentially decayed count with time constant tau. All
 * counts share the factor, so the order of the counters never changes with time, only with
 * requests; the landmark t0 moves forward (every count rescaled at once) before weights overflow.
 * A steady rate r settles at a decayed count of r x tau, so rate = count / tau; before that, at age
 * t, the count is r x tau x (1 - exp(-t/tau)), so `windowS` is that effective window (it grows to
 * tau) and count / windowS reads the rate from the first second, without a ramp.
 *
 * Cost: `offer` is one probe of an open-addressing table over the 64-bit key hash (linear
 * probing, deleted by backward shift: no tombstones), one Math.exp and one sift in a binary min-heap
 * of k entries (log2 k swaps); it allocates nothing: every array is made in the constructor, and
 * the key's text is kept by reference. `top` allocates its answer. Memory: k counters and a table
 * of 2k to 4k cells, whatever the key space.
 *
 * Pure: no I/O, time comes from the injected clock.
 */
import type { Clock } from '../balancer/clock.js';
import type { RoutingKey } from '../balancer/hash.js';

/** One counter as `top` reports it. */
export interface HotKeyCount {
  /** The routing key (after any key transform), as the proxy hashed it. */
  readonly key: string;
  readonly hi: number;
  readonly lo: number;
  /** Decayed weight counted for the key; overstates its true decayed count by at most `error`. */
  readonly count: number;
  /** Decayed weight inherited from the key it replaced (0 when it never replaced one). */
  readonly error: number;
  /** The endpoint its last request went to; null when it was not routed. */
  readonly endpoint: string | null;
}

export interface HotKeySketchOptions {
  /** Counters kept (k). A key with more than 1/k of the decayed traffic is always among them. */
  readonly counters: number;
  /** Time constant of the decay, ms: a request's weight falls by e every `decayMs`. */
  readonly decayMs: number;
}

export const DEFAULT_HOT_KEY_SKETCH: HotKeySketchOptions = Object.freeze({ counters: 64, decayMs: 60_000 });

/** Weights grow as exp((t - t0)/tau); past this the landmark moves forward and counts are rescaled. */
const MAX_WEIGHT = 2 ** 40;

export class HotKeySketch {
  readonly options: HotKeySketchOptions;
  readonly #clock: Clock;
  readonly #k: number;
  readonly #tauMs: number;
  readonly #hi: Int32Array;
  readonly #lo: Int32Array;
  readonly #count: Float64Array;
  readonly #error: Float64Array;
  readonly #text: (string | null)[];
  readonly #endpoint: (string | null)[];
  /** Min-heap of counter indexes by count; #pos[c] is c's place in it. */
  readonly #heap: Int32Array;
  readonly #pos: Int32Array;
  /** Open addressing over the key hash: counter index + 1, 0 for an empty cell. */
  readonly #table: Int32Array;
  readonly #mask: number;
  #size = 0;
  /** The landmark t0 of forward decay, ms on the clock. */
  #t0: number;
  readonly #createdMs: number;
  /** Weight of every request offered (undecayed units, as the counts). */
  #total = 0;

  constructor(clock: Clock, options: HotKeySketchOptions = DEFAULT_HOT_KEY_SKETCH) {
    const k = options.counters;
    if (!Number.isInteger(k) || k < 1 || k > 65_536) throw new RangeError(`counters is ${String(k)}: use an integer from 1 to 65536`);
    if (!(options.decayMs > 0) || !Number.isFinite(options.decayMs)) throw new RangeError(`decayMs is ${String(options.decayMs)}: use a positive number of milliseconds`);
    this.options = options;
    this.#clock = clock;
    this.#k = k;
    this.#tauMs = options.decayMs;
    this.#hi = new Int32Array(k);
    this.#lo = new Int32Array(k);
    this.#count = new Float64Array(k);
    this.#error = new Float64Array(k);
    this.#text = new Array<string | null>(k).fill(null);
    this.#endpoint = new Array<string | null>(k).fill(null);
    this.#heap = new Int32Array(k);
    this.#pos = new Int32Array(k);
    // At most half full: probes stay short.
    let cells = 2;
    while (cells < 2 * k) cells *= 2;
    this.#table = new Int32Array(cells);
    this.#mask = cells - 1;
    this.#t0 = clock.nowMs();
    this.#createdMs = this.#t0;
  }

  /** Counters in use (at most `counters`). */
  get size(): number {
    return this.#size;
  }

  /**
   * Seconds over which rates are averaged: the decay's time constant, or less while the sketch is
   * younger than a few of them (tau x (1 - exp(-age/tau))). A rate is a count over it.
   */
  get windowS(): number {
    const ageMs = this.#clock.nowMs() - this.#createdMs;
    return (this.#tauMs * -Math.expm1(-ageMs / this.#tauMs)) / 1000;
  }

  /** Counts one request for `key`, routed to `endpoint` (null: not routed). Allocation-free. */
  offer(key: RoutingKey, endpoint: string | null): void {
    let w = Math.exp((this.#clock.nowMs() - this.#t0) / this.#tauMs);
    if (w > MAX_WEIGHT) {
      this.#rescale();
      w = Math.exp((this.#clock.nowMs() - this.#t0) / this.#tauMs);
    }
    this.#total += w;
    const hi = key.hi | 0;
    const lo = key.lo | 0;
    const cell = this.#find(hi, lo);
    let c = cell < 0 ? -1 : this.#table[cell]! - 1;
    if (c >= 0) {
      this.#count[c]! += w;
    } else if (this.#size < this.#k) {
      c = this.#size++;
      this.#hi[c] = hi;
      this.#lo[c] = lo;
      this.#count[c] = w;
      this.#error[c] = 0;
      this.#heap[c] = c;
      this.#pos[c] = c;
      this.#insert(lo, c);
      this.#text[c] = key.text;
      this.#endpoint[c] = endpoint;
      this.#siftUp(c);
      return;
    } else {
      // The smallest counter is given to the new key, which inherits its count as error.
      c = this.#heap[0]!;
      this.#delete(this.#hi[c]!, this.#lo[c]!);
      this.#error[c] = this.#count[c]!;
      this.#count[c]! += w;
      this.#hi[c] = hi;
      this.#lo[c] = lo;
      this.#insert(lo, c);
      this.#text[c] = key.text;
    }
    this.#endpoint[c] = endpoint;
    this.#siftDown(this.#pos[c]!);
  }

  /** The decayed weight of every request offered so far, as of now. */
  total(): number {
    return this.#total * this.#decayNow();
  }

  /** The `n` highest counters, highest first, with counts decayed to now. */
  top(n: number = this.#k): HotKeyCount[] {
    const f = this.#decayNow();
    const order: number[] = [];
    for (let c = 0; c < this.#size; c++) order.push(c);
    order.sort((a, b) => this.#count[b]! - this.#count[a]!);
    const out: HotKeyCount[] = [];
    for (const c of order.slice(0, Math.max(0, n))) {
      out.push({ key: this.#text[c]!, hi: this.#hi[c]! >>> 0, lo: this.#lo[c]! >>> 0, count: this.#count[c]! * f, error: this.#error[c]! * f, endpoint: this.#endpoint[c]! });
    }
    return out;
  }

  /** exp(-(now - t0)/tau): turns stored counts into counts decayed to now. */
  #decayNow(): number {
    return Math.exp(-(this.#clock.nowMs() - this.#t0) / this.#tauMs);
  }

  /** Moves the landmark to now: every count and the total are multiplied by the same factor. */
  #rescale(): void {
    const now = this.#clock.nowMs();
    const f = Math.exp(-(now - this.#t0) / this.#tauMs);
    for (let c = 0; c < this.#size; c++) {
      this.#count[c]! *= f;
      this.#error[c]! *= f;
    }
    this.#total *= f;
    this.#t0 = now;
  }

  /** The table cell holding (hi, lo), or -1. */
  #find(hi: number, lo: number): number {
    const table = this.#table;
    const mask = this.#mask;
    for (let i = lo & mask; ; i = (i + 1) & mask) {
      const v = table[i]!;
      if (v === 0) return -1;
      if (this.#lo[v - 1] === lo && this.#hi[v - 1] === hi) return i;
    }
  }

  #insert(lo: number, c: number): void {
    const table = this.#table;
    const mask = this.#mask;
    let i = lo & mask;
    while (table[i] !== 0) i = (i + 1) & mask;
    table[i] = c + 1;
  }

  /** Removes (hi, lo) and shifts back the cells after it (Knuth's Algorithm R), so no tombstones. */
  #delete(hi: number, lo: number): void {
    const table = this.#table;
    const mask = this.#mask;
    let i = this.#find(hi, lo);
    if (i < 0) return;
    for (let j = (i + 1) & mask; table[j] !== 0; j = (j + 1) & mask) {
      const home = this.#lo[table[j]! - 1]! & mask;
      // j's entry may move to i only if its home is not cyclically within (i, j].
      const between = i <= j ? home > i && home <= j : home > i || home <= j;
      if (!between) {
        table[i] = table[j]!;
        i = j;
      }
    }
    table[i] = 0;
  }

  #siftUp(p: number): void {
    const heap = this.#heap;
    const count = this.#count;
    const c = heap[p]!;
    while (p > 0) {
      const parent = (p - 1) >> 1;
      const q = heap[parent]!;
      if (count[q]! <= count[c]!) break;
      heap[p] = q;
      this.#pos[q] = p;
      p = parent;
    }
    heap[p] = c;
    this.#pos[c] = p;
  }

  /** A count only grows: the counter sinks toward the leaves. */
  #siftDown(p: number): void {
    const heap = this.#heap;
    const count = this.#count;
    const n = this.#size;
    const c = heap[p]!;
    for (;;) {
      let child = 2 * p + 1;
      if (child >= n) break;
      if (child + 1 < n && count[heap[child + 1]!]! < count[heap[child]!]!) child++;
      const q = heap[child]!;
      if (count[c]! <= count[q]!) break;
      heap[p] = q;
      this.#pos[q] = p;
      p = child;
    }
    heap[p] = c;
    this.#pos[c] = p;
  }
}
