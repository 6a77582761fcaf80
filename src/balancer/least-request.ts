/**
 * Least request: the usable endpoint with the fewest in-flight requests per unit of weight.
 *
 * Envoy's full-scan mode is O(n) per pick, microseconds at a thousand endpoints. Here an indexed
 * binary min-heap over the endpoints that can take a request (available and below their in-flight
 * limit) is kept in step with the load board (it is told of every begin and done), so a pick reads
 * the root: O(1), and each begin or done costs O(log n). An endpoint reaching its limit leaves the
 * heap and re-enters when a request ends, so the root is never a full endpoint: by weight, the
 * least-cost endpoint can be full while a lighter one has room.
 * Ties go to the endpoint whose load changed least recently (a stamp from a counter, taken at
 * every begin and done), which is round robin among equals: with requests that end before the next
 * begins, a fixed tie-break would send everything to one endpoint, and a random tag redrawn on
 * change is biased toward whoever drew low. First stamps are a random order, so that proxies
 * started together don't all begin with the same endpoint. Costs are compared by cross
 * multiplication, (a + 1) x w_b against (b + 1) x w_a, with no division; in-flight counts are
 * mirrored into a typed array so that comparisons read no objects.
 *
 * A pick that must avoid the root (a retry excluding it) falls back to a full scan from a random
 * start. No allocation on either path; update(): O(n).
 *
 * With in-flight counts shared between threads (load-board.ts), the heap re-reads an endpoint's
 * count when this thread starts or ends a request there, so its order lags other threads' work by
 * at most that; the pick itself is checked against the limit by the board's claim(). Full
 * endpoints then stay in the heap (last, by their counts): this thread hears of room that other
 * threads free only through its own requests, and an endpoint taken out would stay out. A root
 * that turns the request down sends the pick to the full scan.
 */
import { ShardgateError } from '../errors.js';
import type { Balancer, Exclusion, PickResult } from './balancer.js';
import { NO_PICK } from './balancer.js';
import type { EndpointSet } from './endpoint.js';
import type { RoutingKey } from './hash.js';
import type { EndpointLoad, LoadBoard, LoadWatcher } from './load-board.js';
import type { Rng } from './rng.js';
import { noUsable, usable } from './usable.js';

const TAG_RANGE = 1 << 30;

export class LeastRequestBalancer implements Balancer, LoadWatcher {
  readonly algorithm = 'least-request';
  readonly keyed = false;
  readonly #board: LoadBoard;
  readonly #rng: Rng;
  /** Endpoint indices in heap order. */
  #heap = new Int32Array(0);
  /** Position of each endpoint in the heap, -1 when it is not in it (unavailable or full). */
  #pos = new Int32Array(0);
  /** When each endpoint's load last changed: older wins a tie. */
  #stamp = new Float64Array(0);
  #clock = 0;
  #inflight = new Float64Array(0);
  #weight = new Float64Array(0);
  #size = 0;
  /** Counts are shared: the heap keeps full endpoints, and claim() turns them down. */
  readonly #keepFull: boolean;

  constructor(board: LoadBoard, rng: Rng) {
    if (board.watcher !== null) {
      throw new ShardgateError('SG_ERR_BALANCER', 'a load board serves at most one least-request balancer: give each its own board');
    }
    this.#board = board;
    this.#rng = rng;
    this.#keepFull = board.shared !== null;
    board.watcher = this;
  }

  update(set: EndpointSet): void {
    this.#board.sync(set);
    const n = set.endpoints.length;
    this.#heap = new Int32Array(n);
    this.#pos = new Int32Array(n);
    this.#stamp = new Float64Array(n);
    this.#inflight = new Float64Array(n);
    this.#weight = new Float64Array(n);
    for (let i = 0; i < n; i++) this.#weight[i] = set.endpoints[i]!.weight;
    this.availabilityChanged();
  }

  pick(_key: RoutingKey | null, exclude: Exclusion | null): PickResult {
    const loads = this.#board.loads;
    const n = loads.length;
    if (n === 0) return NO_PICK.empty;
    if (this.#size > 0) {
      const root = this.#heap[0]!;
      if (exclude === null || !exclude.has(loads[root]!.endpoint)) {
        const p = this.#board.claim(root);
        if (p !== null) return p;
      }
      // A usable endpoint turns a request down only when another thread filled it in between.
      for (let attempt = 0; attempt < n; attempt++) {
        const best = this.#scan(loads, exclude);
        if (best < 0) break;
        const p = this.#board.claim(best);
        if (p !== null) return p;
      }
    }
    return noUsable(loads, exclude);
  }

  loadChanged(index: number): void {
    const p = this.#pos[index];
    if (p === undefined) return;
    const l = this.#board.loads[index]!;
    this.#inflight[index] = l.inflight;
    this.#stamp[index] = ++this.#clock;
    const fits = this.#fits(l);
    if (p < 0) {
      if (fits) this.#insert(index);
    } else if (fits) {
      this.#siftDown(this.#siftUp(p));
    } else {
      this.#remove(p);
    }
  }

  /** Rebuilds the heap (health, draining or the in-flight limit changed, or a new set). */
  availabilityChanged(): void {
    const loads = this.#board.loads;
    const n = Math.min(loads.length, this.#pos.length);
    this.#pos.fill(-1);
    let size = 0;
    for (let i = 0; i < n; i++) {
      const l = loads[i]!;
      if (!this.#fits(l)) continue;
      this.#inflight[i] = l.inflight;
      // Random first stamps, all older than any later change.
      this.#stamp[i] = this.#clock - TAG_RANGE + this.#rng.below(TAG_RANGE);
      this.#heap[size] = i;
      this.#pos[i] = size;
      size++;
    }
    this.#size = size;
    for (let p = (size >> 1) - 1; p >= 0; p--) this.#siftDown(p);
  }

  /** Whether the endpoint belongs in the heap. */
  #fits(l: EndpointLoad): boolean {
    return l.available && (this.#keepFull || l.inflight < l.limit);
  }

  #insert(i: number): void {
    const p = this.#size++;
    this.#heap[p] = i;
    this.#pos[i] = p;
    this.#siftUp(p);
  }

  #remove(p: number): void {
    const heap = this.#heap;
    const last = --this.#size;
    this.#pos[heap[p]!] = -1;
    if (p === last) return;
    const j = heap[last]!;
    heap[p] = j;
    this.#pos[j] = p;
    this.#siftDown(this.#siftUp(p));
  }

  /** Whether endpoint a costs less than b: in-flight per weight, then the older change. */
  #less(a: number, b: number): boolean {
    const inflight = this.#inflight;
    const weight = this.#weight;
    const d = (inflight[a]! + 1) * weight[b]! - (inflight[b]! + 1) * weight[a]!;
    return d < 0 || (d === 0 && this.#stamp[a]! < this.#stamp[b]!);
  }

  #siftUp(p: number): number {
    const heap = this.#heap;
    const pos = this.#pos;
    const i = heap[p]!;
    while (p > 0) {
      const parent = (p - 1) >> 1;
      const j = heap[parent]!;
      if (!this.#less(i, j)) break;
      heap[p] = j;
      pos[j] = p;
      p = parent;
    }
    heap[p] = i;
    pos[i] = p;
    return p;
  }

  #siftDown(p: number): void {
    const heap = this.#heap;
    const pos = this.#pos;
    const size = this.#size;
    const i = heap[p]!;
    for (;;) {
      let child = 2 * p + 1;
      if (child >= size) break;
      if (child + 1 < size && this.#less(heap[child + 1]!, heap[child]!)) child++;
      const j = heap[child]!;
      if (!this.#less(j, i)) break;
      heap[p] = j;
      pos[j] = p;
      p = child;
    }
    heap[p] = i;
    pos[i] = p;
  }

  /** The least-cost usable endpoint by full scan from a random start; -1 when none is usable. */
  #scan(loads: readonly EndpointLoad[], exclude: Exclusion | null): number {
    const n = loads.length;
    const start = this.#rng.below(n);
    let best = -1;
    let bestLoad = 0;
    let bestWeight = 1;
    for (let step = 0; step < n; step++) {
      const i = start + step < n ? start + step : start + step - n;
      const l = loads[i]!;
      if (!usable(l, exclude)) continue;
      const w = this.#weight[i]!;
      if (best < 0 || (l.inflight + 1) * bestWeight < (bestLoad + 1) * w) {
        best = i;
        bestLoad = l.inflight;
        bestWeight = w;
      }
    }
    return best;
  }
}
