/**
 * Per-endpoint load shared by every balancer of one routing group: in-flight requests and a
 * peak-EWMA of latency. State is kept by endpoint NAME and survives set swaps, so a request picked
 * before an update and ended after it is still counted right. Pick objects (with their `done`) are
 * built here in `sync()`, never per request.
 *
 * Peak-EWMA follows Finagle and tower (`tower/src/load/peak_ewma.rs`): a sample above the estimate
 * replaces it at once (the peak), a lower one is blended in with weight exp(-elapsed / decay), and
 * the estimate decays toward zero when read, so an idle endpoint is tried again. No timers: time
 * comes from the injected clock, decay is computed when the load is read.
 */
import type { Outcome, Pick } from './balancer.js';
import type { Clock } from './clock.js';
import type { Endpoint, EndpointSet } from './endpoint.js';
import { EMPTY_SET } from './endpoint.js';

export interface LoadBoardOptions {
  /** Peak-EWMA decay time constant. Finagle's and Linkerd's default is 10 s. */
  readonly decayMs?: number;
  /** Latency assumed for an endpoint with no sample yet. */
  readonly defaultRttMs?: number;
}

/** Failed requests count as this many times the current estimate, so that fast failures repel. */
const FAILURE_PENALTY = 5;

export class EndpointLoad {
  endpoint: Endpoint;
  inflight = 0;
  /** Attached to the current set; a detached load no longer counts toward the board's total. */
  attached = true;
  /** Eligible for new requests: healthy and not draining. */
  available: boolean;
  /** Health as `LoadBoard.setAvailable` last set it; kept across set swaps. */
  healthy = true;
  ewmaMs: number;
  ewmaStampMs: number;
  hasSample = false;
  picks = 0;
  failures = 0;
  readonly pick: Pick;
  readonly #board: LoadBoard;

  constructor(board: LoadBoard, endpoint: Endpoint, nowMs: number, defaultRttMs: number) {
    this.#board = board;
    this.endpoint = endpoint;
    this.available = !endpoint.draining;
    this.ewmaMs = defaultRttMs;
    this.ewmaStampMs = nowMs;
    const done = (startedMs: number, outcome: Outcome): void => this.#end(startedMs, outcome);
    // The pick object is mutable only through `rebind`, so its identity survives set swaps.
    this.pick = { kind: 'ok', endpoint, done };
  }

  /** The latency estimate now, decayed toward zero since the last sample. */
  latencyMs(nowMs: number, decayMs: number): number {
    const elapsed = nowMs - this.ewmaStampMs;
    return elapsed > 0 ? this.ewmaMs * Math.exp(-elapsed / decayMs) : this.ewmaMs;
  }

  rebind(endpoint: Endpoint): void {
    this.endpoint = endpoint;
    // A new snapshot from discovery says nothing about health: an endpoint taken out of rotation
    // stays out until setAvailable brings it back.
    this.available = this.healthy && !endpoint.draining;
    (this.pick as { endpoint: Endpoint }).endpoint = endpoint;
  }

  #end(startedMs: number, outcome: Outcome): void {
    const board = this.#board;
    if (this.inflight > 0) {
      this.inflight--;
      if (this.attached) {
        board.totalInflight--;
        board.watcher?.loadChanged(this.endpoint.index);
      }
    }
    if (outcome === 'cancelled') return;
    const now = board.clock.nowMs();
    let rtt = now - startedMs;
    if (rtt < 0) rtt = 0;
    if (outcome !== 'ok') {
      this.failures++;
      const floor = FAILURE_PENALTY * (this.hasSample ? this.ewmaMs : board.defaultRttMs);
      if (rtt < floor) rtt = floor;
    }
    // One decay weight w for the time since the last sample serves twice: the estimate decayed to
    // now (what a reader would see), and the blend of a lower sample into it. A sample above the
    // decayed estimate replaces it: the peak.
    const elapsed = now - this.ewmaStampMs;
    const w = elapsed > 0 ? Math.exp(-elapsed / board.decayMs) : 1;
    const current = this.ewmaMs * w;
    this.ewmaMs = !this.hasSample || rtt > current ? rtt : current * w + rtt * (1 - w);
    this.hasSample = true;
    this.ewmaStampMs = now;
  }
}

/**
 * Told of every change of an endpoint's load, for algorithms that keep their own index of loads
 * (least request's heap). Calls are synchronous, from begin() and done().
 */
export interface LoadWatcher {
  loadChanged(index: number): void;
  availabilityChanged(): void;
}

export class LoadBoard {
  readonly clock: Clock;
  /** At most one per board: the algorithm that indexes loads. */
  watcher: LoadWatcher | null = null;
  readonly decayMs: number;
  readonly defaultRttMs: number;
  /** In-flight requests over the endpoints of the current set. */
  totalInflight = 0;
  /** Sum of the weights of the available endpoints of the current set. */
  availableWeight = 0;
  availableCount = 0;
  /** Loads of the current set, by endpoint index. */
  loads: readonly EndpointLoad[] = [];
  set: EndpointSet = EMPTY_SET;
  #byName = new Map<string, EndpointLoad>();

  constructor(clock: Clock, options: LoadBoardOptions = {}) {
    this.clock = clock;
    this.decayMs = options.decayMs ?? 10_000;
    this.defaultRttMs = options.defaultRttMs ?? 10;
  }

  /** Aligns the board with `set`; a no-op when it already is (several balancers share a board). */
  sync(set: EndpointSet): void {
    if (set === this.set) return;
    const now = this.clock.nowMs();
    const next = new Map<string, EndpointLoad>();
    const loads: EndpointLoad[] = [];
    let total = 0;
    for (const ep of set.endpoints) {
      let load = this.#byName.get(ep.name);
      if (load === undefined) {
        load = new EndpointLoad(this, ep, now, this.defaultRttMs);
      } else {
        load.rebind(ep);
      }
      load.attached = true;
      total += load.inflight;
      next.set(ep.name, load);
      loads.push(load);
    }
    for (const [name, load] of this.#byName) if (!next.has(name)) load.attached = false;
    this.#byName = next;
    this.loads = loads;
    this.totalInflight = total;
    this.set = set;
    this.#recount();
  }

  /**
   * Takes an endpoint out of (or back into) rotation without a new set (health). The mark survives
   * later sets; an endpoint the set marks draining stays unavailable whatever its health.
   */
  setAvailable(name: string, available: boolean): void {
    const load = this.#byName.get(name);
    if (load === undefined) return;
    const next = available && !load.endpoint.draining;
    load.healthy = available;
    if (load.available === next) return;
    load.available = next;
    this.#recount();
    this.watcher?.availabilityChanged();
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

  /** Starts a request on the endpoint at `index` of the current set and returns its pick. */
  begin(index: number): Pick {
    const load = this.loads[index]!;
    load.inflight++;
    load.picks++;
    this.totalInflight++;
    this.watcher?.loadChanged(index);
    return load.pick;
  }

  load(name: string): EndpointLoad | undefined {
    return this.#byName.get(name);
  }
}
