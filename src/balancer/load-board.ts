/**
 * Per-endpoint load shared by every balancer of one routing group: in-flight requests, a
 * peak-EWMA of latency, availability and the in-flight limit. State is kept by endpoint NAME and
 * survives set swaps, so a request picked before an update and ended after it is still counted
 * right. Pick objects (with their `done`) are built here in `sync()`, never per request.
 *
 * Peak-EWMA follows Finagle and tower (`tower/src/load/peak_ewma.rs`): a sample above the estimate
 * replaces it at once (the peak), a lower one is blended in with weight exp(-elapsed / decay), and
 * the estimate decays toward zero when read, so an idle endpoint is tried again. No timers: time
 * comes from the injected clock, decay is computed when the load is read.
 *
 * Availability is the AND of independent conditions, each owned by one party: the set says
 * draining, and outlier detection and active health checks each own one bit of `down`
 * (`setDown`). Lifting one mark never lifts another: an endpoint failing its health checks stays
 * out when its ejection ends. The marks are kept by name across set swaps while the address stays,
 * as Envoy keeps FAILED_OUTLIER_CHECK and FAILED_ACTIVE_HC per host; a name at a new address (a pod
 * rescheduled with a new IP) starts with none, as a new Envoy host does: what failed was the old
 * pod, and its ejection would keep the new one's keys away for the whole ejection time.
 *
 * `maxInflight` (HAProxy's per-server maxconn, Envoy's max_requests per host) is not availability:
 * an endpoint at its limit is still in rotation, it only takes nothing new until a request ends.
 * usable.ts checks both, so every algorithm honours the limit; `onCapacity` tells a waiting
 * request when room may have come back.
 *
 * Views (`view()`): a board over part of the endpoints (one zone, one subset) for a balancer of
 * its own, sharing the root board's loads: one in-flight count, one set of marks, one latency
 * estimate and one limit per endpoint, whichever balancer picked it. A view has its own index
 * order, availability sums and watcher; its total, which only bounded loads read, is summed over
 * its endpoints when a bound is judged (O(endpoints of the view)), so that it holds for shared
 * counts too. Marks, limits and onCapacity belong to the root: a view forwards setDown and
 * setMaxInflight, and the root tells its views when availability changes.
 *
 * In-flight counts are plain fields of the board's own or, with `shared`, a slot per endpoint
 * name in 32-bit cells that every thread of the process updates with Atomics (shared-loads.ts), so
 * that limits and bounded loads hold for the process, not per thread. Picks start requests through
 * `claim()` (an endpoint found usable) or `admit()` (with a load bound): with shared counts both
 * add first, then check the value the addition returned, and take the request back if that went
 * over. Checking first and adding after would let every thread that checked at the same moment go
 * one over.
 *
 * What stays per thread with shared counts, and why that is fine:
 * - Peak-EWMA latency, picks, failures, availability marks (outlier detection, health checks) and
 *   pick objects: each thread measures its own requests, which sample the same pods.
 * - least-request's heap (least-request.ts) re-reads an endpoint's shared count only when this
 *   thread starts or ends a request there, so its order lags other threads' work. The endpoint it
 *   picks is re-read at once, so a stale root corrects itself on its next use; the counts it
 *   compares are never wrong by more than what other threads did since.
 * - p2c and peak-ewma compare two counts read a moment before the pick: another thread may pick in
 *   between. The choice is a heuristic anyway; limits are enforced by claim().
 * - onCapacity hears of room freed by this thread's requests only.
 * - The total counts every request of the process, on present endpoints and on ones just removed
 *   until they end (a removed name's slot stays counted while it drains), where a board of its own
 *   drops a removed endpoint's requests from its total at once. The average a bound is computed
 *   from is then a little higher while a pod drains: bounds are looser, never tighter.
 */
import { ConfigError, ShardgateError } from '../errors.js';
import type { Outcome, Pick } from './balancer.js';
import { loadBound } from './bounded-load.js';
import type { Clock } from './clock.js';
import type { Endpoint, EndpointSet } from './endpoint.js';
import { EMPTY_SET } from './endpoint.js';
import { showValue } from './option-reader.js';
import type { SharedLoads } from './shared-loads.js';
import { TOTAL_CELL } from './shared-loads.js';

export interface LoadBoardOptions {
  /** Peak-EWMA decay time constant. Finagle's and Linkerd's default is 10 s. */
  readonly decayMs?: number;
  /** Latency assumed for an endpoint with no sample yet. */
  readonly defaultRttMs?: number;
  /** Most requests in flight per endpoint; 0 (the default) for no limit. See validateMaxInflight. */
  readonly maxInflight?: number;
  /** In-flight counts shared with the process's other threads; absent: this board's own. */
  readonly shared?: SharedLoads | null;
}

/** No limit on requests in flight per endpoint. */
export const DEFAULT_MAX_INFLIGHT = 0;
/** Above any real per-pod concurrency; keeps the value a small integer. */
export const MAX_INFLIGHT_LIMIT = 1_000_000;
/** The limit of an endpoint without one: a small integer, so the comparison on the pick path stays integral. */
const UNLIMITED = 0x3fffffff;

/**
 * Why an endpoint is out of rotation besides draining: one bit per party that can take it out.
 * `ejected`: passive outlier detection; `failed-check`: active health checks.
 */
export const DOWN = Object.freeze({ ejected: 1, 'failed-check': 2 } as const);
export type DownReason = keyof typeof DOWN;

/** Failed requests count as this many times the current estimate, so that fast failures repel. */
const FAILURE_PENALTY = 5;

/** A view that holds an endpoint, and the endpoint's index in it: how the view's watcher hears of the endpoint. */
interface ViewLink {
  readonly view: LoadBoard;
  readonly index: number;
}

const NO_LINKS: readonly ViewLink[] = Object.freeze([]);

/**
 * One endpoint's load on one board. The in-flight count is a plain field for a board of its own
 * (LocalEndpointLoad) and a shared cell for a board of many threads (SharedEndpointLoad); a process
 * makes one kind or the other, so reads of `inflight` on the pick path see one shape.
 */
export abstract class EndpointLoad {
  endpoint: Endpoint;
  /** Requests in flight at the endpoint: this board's, or the whole process's with shared counts. */
  abstract readonly inflight: number;
  /** Attached to the current set; a detached load no longer counts toward the board's total. */
  attached = true;
  /** Eligible for new requests: not draining and not down for any reason. */
  available: boolean;
  /** Bits of DOWN, as `LoadBoard.setDown` set them; kept across set swaps. */
  down = 0;
  /** In-flight requests at which the endpoint takes no new one; a huge number without a limit. */
  limit: number;
  /**
   * The latency estimate and the time of its last sample. In a Float64Array rather than fields:
   * a number field that has held both small integers and fractions boxes each new value on the
   * heap, and the sample in every done() would then allocate. The third cell is the cumulative
   * latency of every sample, for whoever turns counts into rates (the admin page).
   */
  readonly #ewma = new Float64Array(3);
  hasSample = false;
  picks = 0;
  failures = 0;
  /** Requests that ended and were timed (every done() but a cancelled one): the count `latencySumMs` sums over. */
  samples = 0;
  readonly pick: Pick;
  /** Views with a watcher that hold this endpoint; replaced whole when a view syncs. */
  links: readonly ViewLink[] = NO_LINKS;
  /**
   * Whether anyone hears of this load's changes (its board's watcher, a view's through `links`):
   * most boards have no watcher (only least-request keeps one), and notify() then costs one read
   * on every begin and done. Kept by refreshWatched() wherever either changes.
   */
  watched = false;
  readonly #board: LoadBoard;

  constructor(board: LoadBoard, endpoint: Endpoint, nowMs: number, defaultRttMs: number, limit: number) {
    this.#board = board;
    this.endpoint = endpoint;
    this.available = !endpoint.draining;
    this.limit = limit;
    this.#ewma[0] = defaultRttMs;
    this.#ewma[1] = nowMs;
    const done = (startedMs: number, outcome: Outcome): void => this.#end(startedMs, outcome);
    // The pick object is mutable only through `rebind`, so its identity survives set swaps.
    this.pick = { kind: 'ok', endpoint, done };
  }

  /** The latency estimate as of the last sample (not decayed). */
  get ewmaMs(): number {
    return this.#ewma[0]!;
  }

  /** When the last sample was taken. */
  get ewmaStampMs(): number {
    return this.#ewma[1]!;
  }

  /** Milliseconds of every timed request summed (failures at their measured time, not the penalty): cumulative, as `samples`. */
  get latencySumMs(): number {
    return this.#ewma[2]!;
  }

  /** The latency estimate now, decayed toward zero since the last sample. */
  latencyMs(nowMs: number, decayMs: number): number {
    const ewma = this.#ewma;
    const elapsed = nowMs - ewma[1]!;
    return elapsed > 0 ? ewma[0]! * Math.exp(-elapsed / decayMs) : ewma[0]!;
  }

  /** Tells every watcher that the count changed: the root board's by the endpoint's index, each view's by its own. */
  notify(): void {
    if (!this.watched) return;
    this.#board.watcher?.loadChanged(this.endpoint.index);
    const links = this.links;
    for (let i = 0; i < links.length; i++) {
      const link = links[i]!;
      link.view.watcher?.loadChanged(link.index);
    }
  }

  refreshWatched(): void {
    this.watched = this.#board.watcher !== null || this.links.length > 0;
  }

  rebind(endpoint: Endpoint): void {
    this.endpoint = endpoint;
    // A new snapshot from discovery says nothing about health: an endpoint taken out of rotation
    // stays out until every party that took it out has brought it back.
    this.available = this.down === 0 && !endpoint.draining;
    (this.pick as { endpoint: Endpoint }).endpoint = endpoint;
  }

  /**
   * Takes a request off the count and off the board's total; returns the count before. A count
   * already at 0 (a stray extra done) is left alone and 0 is returned.
   */
  protected abstract uncount(): number;

  #end(startedMs: number, outcome: Outcome): void {
    const board = this.#board;
    const before = this.uncount();
    let freed = false;
    if (before > 0 && this.attached) {
      this.notify();
      freed = before === this.limit && this.available;
    }
    if (outcome !== 'cancelled') this.#sample(board, startedMs, outcome);
    // Last, so that a waiter picking from inside the hook finds every count settled.
    if (freed) board.onCapacity?.();
  }

  #sample(board: LoadBoard, startedMs: number, outcome: Outcome): void {
    const now = board.clock.nowMs();
    let rtt = now - startedMs;
    if (rtt < 0) rtt = 0;
    const ewma = this.#ewma;
    ewma[2] = ewma[2]! + rtt;
    this.samples++;
    if (outcome !== 'ok') {
      this.failures++;
      const floor = FAILURE_PENALTY * (this.hasSample ? this.#ewma[0]! : board.defaultRttMs);
      if (rtt < floor) rtt = floor;
    }
    // One decay weight w for the time since the last sample serves twice: the estimate decayed to
    // now (what a reader would see), and the blend of a lower sample into it. A sample above the
    // decayed estimate replaces it: the peak.
    const elapsed = now - ewma[1]!;
    const w = elapsed > 0 ? Math.exp(-elapsed / board.decayMs) : 1;
    const current = ewma[0]! * w;
    ewma[0] = !this.hasSample || rtt > current ? rtt : current * w + rtt * (1 - w);
    this.hasSample = true;
    ewma[1] = now;
  }
}

/** The board's own total, shared by it and its loads. */
class Tally {
  n = 0;
}

/** A count for one thread: plain fields. */
class LocalEndpointLoad extends EndpointLoad {
  inflight = 0;
  readonly #total: Tally;

  constructor(board: LoadBoard, endpoint: Endpoint, nowMs: number, defaultRttMs: number, limit: number, total: Tally) {
    super(board, endpoint, nowMs, defaultRttMs, limit);
    this.#total = total;
  }

  protected uncount(): number {
    const before = this.inflight;
    if (before > 0) {
      this.inflight = before - 1;
      // A removed endpoint's requests left the total when it was removed.
      if (this.attached) this.#total.n--;
    }
    return before;
  }
}

/** A count in cells that the process's threads share (shared-loads.ts), changed with Atomics. */
class SharedEndpointLoad extends EndpointLoad {
  readonly cells: Int32Array;
  readonly slot: number;

  constructor(board: LoadBoard, endpoint: Endpoint, nowMs: number, defaultRttMs: number, limit: number, cells: Int32Array, slot: number) {
    super(board, endpoint, nowMs, defaultRttMs, limit);
    this.cells = cells;
    this.slot = slot;
  }

  get inflight(): number {
    return this.cells[this.slot]!;
  }

  protected uncount(): number {
    const before = Atomics.sub(this.cells, this.slot, 1);
    if (before > 0) {
      // The shared total keeps requests on removed endpoints until they end.
      Atomics.sub(this.cells, TOTAL_CELL, 1);
    } else {
      // A stray extra done: put back what it took (additions commute, so a concurrent begin is safe).
      Atomics.add(this.cells, this.slot, 1);
    }
    return before;
  }
}

/**
 * Told of every change of an endpoint's load, for algorithms that keep their own index of loads
 * (least request's heap). Calls are synchronous, from begin() and done().
 */
export interface LoadWatcher {
  /** The in-flight count of the endpoint at `index` changed (begin or done). */
  loadChanged(index: number): void;
  /** Availability or the in-flight limit changed (setDown, setMaxInflight): rebuild. */
  availabilityChanged(): void;
}

export class LoadBoard {
  readonly clock: Clock;
  #watcher: LoadWatcher | null = null;
  readonly decayMs: number;
  readonly defaultRttMs: number;
  /**
   * Called when a pick that answered `saturated` may now succeed: an endpoint at its limit ended a
   * request, an endpoint came back into rotation (setDown), or the limit rose. Synchronous, after
   * the board's own bookkeeping, so the hook may pick at once. Not called for a new set: whoever
   * calls `balancer.update()` knows, and the balancer's tables are rebuilt only after `sync()`.
   * One subscriber (the proxy's queue of waiting requests); never called per pick.
   */
  onCapacity: (() => void) | null = null;
  /** Shared in-flight counts, or null for a board of one thread. */
  readonly shared: SharedLoads | null;
  /** Sum of the weights of the available endpoints of the current set. */
  availableWeight = 0;
  availableCount = 0;
  /** Loads of the current set, by endpoint index. */
  loads: readonly EndpointLoad[] = [];
  set: EndpointSet = EMPTY_SET;
  #byName = new Map<string, EndpointLoad>();
  #maxInflight: number;

  /** The total without shared counts; a view counts into its root's. */
  #total = new Tally();
  /** The shared cells, or null. */
  readonly #cells: Int32Array | null;
  /** For a view, the board whose loads it shares; null for a root. */
  #root: LoadBoard | null = null;
  /** A root's views, told when availability or the limit changes. */
  readonly #views = new Set<LoadBoard>();
  /** A view's loads that carry a link to it (only while it has a watcher). */
  #linked: readonly EndpointLoad[] = [];

  constructor(clock: Clock, options: LoadBoardOptions = {}) {
    this.clock = clock;
    this.decayMs = options.decayMs ?? 10_000;
    this.defaultRttMs = options.defaultRttMs ?? 10;
    this.#maxInflight = validateMaxInflight(options.maxInflight ?? DEFAULT_MAX_INFLIGHT, 'maxInflight');
    this.shared = options.shared ?? null;
    this.#cells = this.shared === null ? null : this.shared.counts;
  }

  /** At most one per board: the algorithm that indexes loads. */
  get watcher(): LoadWatcher | null {
    return this.#watcher;
  }

  set watcher(w: LoadWatcher | null) {
    this.#watcher = w;
    // A root's loads hear through the root's watcher; a view's through links made at its sync.
    if (this.#root === null) for (const l of this.#byName.values()) l.refreshWatched();
  }

  /**
   * Requests in flight over the endpoints of the current set; with shared counts, over the whole
   * process, including requests on endpoints removed and not yet ended.
   */
  get totalInflight(): number {
    if (this.#root !== null) return this.#viewTotal();
    const cells = this.#cells;
    return cells === null ? this.#total.n : cells[TOTAL_CELL]!;
  }

  /** Most requests in flight per endpoint; 0 for no limit. */
  get maxInflight(): number {
    return this.#root === null ? this.#maxInflight : this.#root.#maxInflight;
  }

  /**
   * Round robin's turn counter shared by the process's threads, or null: a board of one thread,
   * or a view, whose schedule is its own and would only skew the root's shared turns.
   */
  get turns(): Uint32Array | null {
    return this.#root === null ? (this.shared?.turns ?? null) : null;
  }

  /** A root's views that hold endpoints now (0 for a view). */
  get viewCount(): number {
    return this.#views.size;
  }

  /** True for a board made by `view()`. */
  get isView(): boolean {
    return this.#root !== null;
  }

  /**
   * A new board over part of this board's endpoints, sharing their loads (see the module comment).
   * Sync it with a set whose endpoints the root's current set holds, after the root's own sync. A
   * view synced with an empty set is detached: the root forgets it, so a view no longer used
   * costs nothing once its balancer is updated with EMPTY_SET. A view of a view is a view of the root.
   */
  view(): LoadBoard {
    const root = this.#root ?? this;
    const v = new LoadBoard(root.clock, { decayMs: root.decayMs, defaultRttMs: root.defaultRttMs, maxInflight: root.#maxInflight, shared: root.shared });
    v.#root = root;
    v.#total = root.#total;
    return v;
  }

  /** Changes the per-endpoint limit at run time (a config reload); requests beyond a lowered limit finish. */
  setMaxInflight(max: number): void {
    if (this.#root !== null) {
      this.#root.setMaxInflight(max);
      return;
    }
    validateMaxInflight(max, 'maxInflight');
    if (max === this.#maxInflight) return;
    const raised = max === 0 || (this.#maxInflight !== 0 && max > this.#maxInflight);
    this.#maxInflight = max;
    const limit = max === 0 ? UNLIMITED : max;
    for (const l of this.#byName.values()) l.limit = limit;
    this.watcher?.availabilityChanged();
    for (const v of this.#views) v.watcher?.availabilityChanged();
    if (raised) this.onCapacity?.();
  }

  /**
   * Aligns the board with `set`; a no-op when it already is (several balancers share a board).
   * @throws ShardgateError, changing nothing, when shared counts have no slot for one of its names
   */
  sync(set: EndpointSet): void {
    if (set === this.set) return;
    if (this.#root !== null) {
      this.#syncView(this.#root, set);
      return;
    }
    const now = this.clock.nowMs();
    const shared = this.shared;
    // Every slot first, so that a missing one changes nothing.
    const slots = shared === null ? null : set.endpoints.map((ep) => shared.slotOf(ep.name));
    const limit = this.#maxInflight === 0 ? UNLIMITED : this.#maxInflight;
    const next = new Map<string, EndpointLoad>();
    const loads: EndpointLoad[] = [];
    let total = 0;
    for (const ep of set.endpoints) {
      let load = this.#byName.get(ep.name);
      if (slots === null) {
        load ??= new LocalEndpointLoad(this, ep, now, this.defaultRttMs, limit, this.#total);
      } else {
        const slot = slots[ep.index]!;
        // The slot table never moves a name that stays: a load on another cell is a name that
        // left and came back after its slot was reused, a new endpoint.
        if (load === undefined || (load as SharedEndpointLoad).slot !== slot) load = new SharedEndpointLoad(this, ep, now, this.defaultRttMs, limit, shared!.counts, slot);
      }
      if (load.down !== 0 && load.endpoint.address !== ep.address) load.down = 0;
      load.rebind(ep);
      load.refreshWatched();
      load.attached = true;
      total += load.inflight;
      next.set(ep.name, load);
      loads.push(load);
    }
    for (const [name, load] of this.#byName) if (!next.has(name)) load.attached = false;
    this.#byName = next;
    this.loads = loads;
    if (shared === null) this.#total.n = total;
    this.set = set;
    this.#recount();
  }

  /**
   * A view takes the root's loads of `set`'s names, in `set`'s order.
   * @throws ShardgateError, changing nothing, when a name is not in the root's current set
   */
  #syncView(root: LoadBoard, set: EndpointSet): void {
    const loads: EndpointLoad[] = [];
    const byName = new Map<string, EndpointLoad>();
    for (const ep of set.endpoints) {
      const load = root.#byName.get(ep.name);
      if (load === undefined) {
        throw new ShardgateError('SG_ERR_ENDPOINTS', `a view's endpoint "${ep.name}" is not in its root board's set (version ${root.set.version}): sync the root with the whole set first`);
      }
      loads.push(load);
      byName.set(ep.name, load);
    }
    this.#unlink();
    if (loads.length > 0) root.#views.add(this);
    else root.#views.delete(this);
    // Only a watcher needs to hear of counts by this view's index; other views cost nothing per request.
    if (this.watcher !== null) {
      for (let i = 0; i < loads.length; i++) {
        loads[i]!.links = [...loads[i]!.links, { view: this, index: i }];
        loads[i]!.refreshWatched();
      }
      this.#linked = loads;
    }
    this.#byName = byName;
    this.loads = loads;
    this.set = set;
    this.#recount();
  }

  #unlink(): void {
    for (const load of this.#linked) {
      load.links = load.links.filter((l) => l.view !== this);
      load.refreshWatched();
    }
    this.#linked = [];
  }

  /** A view's requests in flight, summed over its endpoints: the total its bounds are judged by. */
  #viewTotal(): number {
    const loads = this.loads;
    let total = 0;
    for (let i = 0; i < loads.length; i++) total += loads[i]!.inflight;
    return total;
  }

  /**
   * Sets or lifts one party's mark that takes an endpoint out of rotation, without a new set.
   * Idempotent: repeating a mark changes nothing. The mark survives later sets while the name
   * stays in them at the same address (a name that leaves and comes back, or comes at a new
   * address, starts clean); the endpoint is available only when no mark is set and the set does
   * not say draining. Unknown names are ignored.
   */
  setDown(name: string, reason: DownReason, down: boolean): void {
    if (this.#root !== null) {
      this.#root.setDown(name, reason, down);
      return;
    }
    const load = this.#byName.get(name);
    if (load === undefined) return;
    const bits = down ? load.down | DOWN[reason] : load.down & ~DOWN[reason];
    if (bits === load.down) return;
    load.down = bits;
    const available = bits === 0 && !load.endpoint.draining;
    if (available === load.available) return;
    load.available = available;
    this.#recount();
    this.watcher?.availabilityChanged();
    for (const v of this.#views) {
      if (!v.#byName.has(name)) continue;
      v.#recount();
      v.watcher?.availabilityChanged();
    }
    if (available) this.onCapacity?.();
  }

  /** Whether `reason`'s mark is set on the endpoint `name` (false for unknown names). */
  isDown(name: string, reason: DownReason): boolean {
    const load = (this.#root ?? this).#byName.get(name);
    return load !== undefined && (load.down & DOWN[reason]) !== 0;
  }

  #recount(): void {
    let weight = 0;
    let count = 0;
    for (const l of this.loads) {
      if (l.available) {
        weight += l.endpoint.weight;
        count++;
      }
    }
    this.availableWeight = weight;
    this.availableCount = count;
  }

  /**
   * Starts a request on the endpoint at `index` of the current set, whatever its limit, and returns
   * its pick. Picks go through `claim` or `admit`; this is for callers that have decided already.
   */
  begin(index: number): Pick {
    const load = this.loads[index]!;
    const cells = this.#cells;
    if (cells === null) {
      (load as LocalEndpointLoad).inflight++;
      this.#total.n++;
    } else {
      Atomics.add(cells, (load as SharedEndpointLoad).slot, 1);
      Atomics.add(cells, TOTAL_CELL, 1);
    }
    load.picks++;
    load.notify();
    return load.pick;
  }

  /**
   * Starts a request on an endpoint the caller found usable (usable.ts) a moment ago. With a board
   * of its own that is `begin`; with shared counts another thread may have filled it since, so the
   * limit is checked again as `admit` does, and null means walk on.
   */
  claim(index: number): Pick | null {
    const cells = this.#cells;
    if (cells !== null) return this.#admitShared(cells, index, null);
    const load = this.loads[index] as LocalEndpointLoad;
    load.inflight++;
    this.#total.n++;
    load.picks++;
    load.notify();
    return load.pick;
  }

  /**
   * Starts a request on the endpoint at `index` of the current set if it stays within its in-flight
   * limit and, with a bounded-load `factor`, within its bound (bounded-load.ts) once counted;
   * otherwise changes nothing and returns null, and the caller walks on. Availability and
   * exclusion are the caller's to check. With a board of its own this only repeats what a pick
   * checked a moment ago; with shared counts another thread may have filled the endpoint since.
   */
  admit(index: number, factor: number | null): Pick | null {
    const cells = this.#cells;
    // Small enough to be inlined into every pick; the shared path is a call of its own.
    if (cells !== null) return this.#admitShared(cells, index, factor);
    const load = this.loads[index] as LocalEndpointLoad;
    const total = this.#total;
    const after = load.inflight + 1;
    if (after > load.limit || (factor !== null && after > loadBound(factor, this.#root === null ? total.n : this.#viewTotal(), load.endpoint.weight, this.availableWeight))) return null;
    load.inflight = after;
    total.n++;
    load.picks++;
    load.notify();
    return load.pick;
  }

  #admitShared(cells: Int32Array, index: number, factor: number | null): Pick | null {
    const load = this.loads[index] as SharedEndpointLoad;
    const slot = load.slot;
    // A view's bound is over its own endpoints: their sum, read once; the limit is still judged
    // by what the addition returned.
    const viewTotal = factor !== null && this.#root !== null ? this.#viewTotal() : -1;
    // Plain reads turn a full endpoint down without writing to cells that every thread reads.
    if (!this.#fits(cells[slot]! + 1, load, viewTotal < 0 ? cells[TOTAL_CELL]! : viewTotal, factor)) return null;
    // Counted first, in the total as well (the request is one of the process's wherever it
    // lands), then judged by what the additions returned: two threads can no longer both take
    // the last place.
    const before = Atomics.add(cells, TOTAL_CELL, 1);
    const after = Atomics.add(cells, slot, 1) + 1;
    if (!this.#fits(after, load, viewTotal < 0 ? before : viewTotal, factor)) {
      Atomics.sub(cells, slot, 1);
      Atomics.sub(cells, TOTAL_CELL, 1);
      return null;
    }
    load.picks++;
    load.notify();
    return load.pick;
  }

  /** Whether `after` requests at `load` are within its limit and, with `factor`, its bound over `total` others. */
  #fits(after: number, load: EndpointLoad, total: number, factor: number | null): boolean {
    return after <= load.limit && (factor === null || after <= loadBound(factor, total, load.endpoint.weight, this.availableWeight));
  }

  /** The load of `name` in this board's set (a view's own endpoints only). */
  load(name: string): EndpointLoad | undefined {
    return this.#byName.get(name);
  }
}

/**
 * Checks a configured per-endpoint in-flight limit.
 * @throws ConfigError naming `field` when it is not an integer from 0 to MAX_INFLIGHT_LIMIT
 */
export function validateMaxInflight(raw: unknown, field: string): number {
  if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < 0 || raw > MAX_INFLIGHT_LIMIT) {
    throw new ConfigError('SG_ERR_BALANCER', field, `is ${showValue(raw)}: the most requests in flight per endpoint must be an integer from 1 to ${MAX_INFLIGHT_LIMIT}, or 0 for no limit (the default); size it to what one pod serves at once`);
  }
  return raw;
}
