/**
 * Shared fixtures for the balancer tests: endpoint specs, keys, a balancer factory with a visible
 * load board, and the contract every algorithm must keep (R1, R4). Everything is seeded.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { Balancer, NoPickReason, Outcome, Pick } from '../../src/balancer/balancer.js';
import { ManualClock } from '../../src/balancer/clock.js';
import type { Endpoint, EndpointSet, EndpointSpec } from '../../src/balancer/endpoint.js';
import { createEndpointSet } from '../../src/balancer/endpoint.js';
import type { BalancerConfig } from '../../src/balancer/factory.js';
import { createBalancer } from '../../src/balancer/factory.js';
import type { RoutingKey } from '../../src/balancer/hash.js';
import { hashKey } from '../../src/balancer/hash.js';
import { HashingBalancer } from '../../src/balancer/hashing-balancer.js';
import type { LoadBoardOptions } from '../../src/balancer/load-board.js';
import { LoadBoard } from '../../src/balancer/load-board.js';
import type { Rng } from '../../src/balancer/rng.js';
import { seededRng } from '../../src/balancer/rng.js';
import { SharedLoads } from '../../src/balancer/shared-loads.js';
import { SlotTable } from '../../src/balancer/shared-slots.js';
import type { ZonePreference } from '../../src/balancer/zone-aware.js';

/** `svc-0` .. `svc-(n-1)`, weight 1, in order. */
export function specs(n: number, prefix = 'svc'): EndpointSpec[] {
  return Array.from({ length: n }, (_, i) => ({ name: `${prefix}-${i}`, address: `10.0.${i >> 8}.${i & 255}:8080` }));
}

export function weighted(weights: readonly number[], prefix = 'svc'): EndpointSpec[] {
  return weights.map((weight, i) => ({ name: `${prefix}-${i}`, address: `10.1.0.${i}:8080`, weight }));
}

export function setOf(list: readonly EndpointSpec[], version = 1): EndpointSet {
  return createEndpointSet(list, version);
}

/** Fisher-Yates with the seeded Rng. */
export function shuffle<T>(list: readonly T[], rng: Rng): T[] {
  const out = [...list];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.nextUint32() % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** `count` distinct keys that look like real ones (`user-<random>`), from a seeded Rng. */
export function makeKeys(count: number, seed = 1): RoutingKey[] {
  const rng = seededRng(seed);
  return Array.from({ length: count }, (_, i) => hashKey(`user-${rng.nextUint32().toString(36)}-${i}`));
}

export interface Harness {
  readonly balancer: Balancer;
  readonly board: LoadBoard;
  readonly clock: ManualClock;
}

/**
 * With `options.shared`, the set gets its slots from a SlotTable first, as a worker thread does;
 * with `zone`, requests without a key prefer that zone (zone-aware.ts).
 */
export function harness(config: BalancerConfig, list: readonly EndpointSpec[] | null, seed = 7, options: LoadBoardOptions = {}, zone: ZonePreference | null = null): Harness {
  const clock = new ManualClock(1_000);
  const board = new LoadBoard(clock, { ...(config.algorithm === 'peak-ewma' ? config : {}), ...options });
  const balancer = createBalancer(config, { clock, rng: seededRng(seed), board, zone });
  if (list !== null) {
    const set = setOf(list);
    const shared = options.shared;
    if (shared != null) shared.setSlots(set.endpoints.map((e) => e.name), new SlotTable(shared).assign(set).slots);
    balancer.update(set);
  }
  return { balancer, board, clock };
}

export function asHashing(b: Balancer): HashingBalancer {
  assert.ok(b instanceof HashingBalancer, `${b.algorithm} is a HashingBalancer`);
  return b;
}

/** Every key's owner name (or null), as the lookup API answers it. */
export function ownersOf(b: Balancer, keys: readonly RoutingKey[]): (string | null)[] {
  const h = asHashing(b);
  return keys.map((k) => h.owner(k)?.name ?? null);
}

export function countMoved(before: readonly (string | null)[], after: readonly (string | null)[]): number {
  let moved = 0;
  for (let i = 0; i < before.length; i++) if (before[i] !== after[i]) moved++;
  return moved;
}

export function countOf(owners: readonly (string | null)[], name: string): number {
  let c = 0;
  for (const o of owners) if (o === name) c++;
  return c;
}

export function expectOk(r: ReturnType<Balancer['pick']>, what = 'pick'): Pick {
  assert.equal(r.kind, 'ok', `${what} returned ${r.kind === 'none' ? r.reason : 'ok'}`);
  return r;
}

export function expectNone(r: ReturnType<Balancer['pick']>, reason: NoPickReason): void {
  assert.equal(r.kind, 'none', `expected no pick (${reason}), got ${r.kind === 'ok' ? r.endpoint.name : ''}`);
  assert.equal(r.kind === 'none' ? r.reason : null, reason);
}

/** Names chosen by `count` picks that end at once. */
export function pickNames(b: Balancer, count: number, key: RoutingKey | null = null): string[] {
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const p = expectOk(b.pick(key, null));
    out.push(p.endpoint.name);
    // 'cancelled' leaves no latency sample, so that peak-EWMA sees only what a test feeds it.
    p.done(0, 'cancelled');
  }
  return out;
}

export function assertIdle(board: LoadBoard, what: string): void {
  assert.equal(board.totalInflight, 0, `${what}: total in-flight back to zero`);
  for (const l of board.loads) assert.equal(l.inflight, 0, `${what}: ${l.endpoint.name} in-flight back to zero`);
}

/** A set excluding endpoints by name. */
export function excluding(set: EndpointSet, names: readonly string[]): Set<Endpoint> {
  return new Set(names.map((n) => set.byName.get(n)!));
}

/** Zipf(s) over `count` keys, plus one key that alone takes `hotShare` of the traffic. */
export class SkewedKeys {
  readonly keys: RoutingKey[];
  readonly hot: RoutingKey;
  readonly #cdf: Float64Array;
  readonly #hotShare: number;
  readonly #rng: Rng;

  constructor(count: number, s: number, hotShare: number, rng: Rng) {
    this.keys = makeKeys(count, 99);
    this.hot = hashKey('the-hot-key');
    this.#hotShare = hotShare;
    this.#rng = rng;
    this.#cdf = new Float64Array(count);
    let sum = 0;
    for (let i = 0; i < count; i++) {
      sum += 1 / Math.pow(i + 1, s);
      this.#cdf[i] = sum;
    }
    for (let i = 0; i < count; i++) this.#cdf[i]! /= sum;
  }

  next(): RoutingKey {
    if (uniform(this.#rng) < this.#hotShare) return this.hot;
    const u = uniform(this.#rng);
    let lo = 0;
    let hi = this.#cdf.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#cdf[mid]! > u) hi = mid;
      else lo = mid + 1;
    }
    return this.keys[lo]!;
  }
}

export function uniform(rng: Rng): number {
  return rng.nextUint32() / 4294967296;
}

export interface ContractCase {
  readonly label: string;
  readonly config: BalancerConfig;
  /** Endpoint specs to use; names must suit the algorithm (ordinals, ranges). */
  readonly endpoints: readonly EndpointSpec[];
  /** What a pick says when every endpoint is draining. */
  readonly allDraining: NoPickReason;
  /** What a keyed pick says when its owner is excluded and so is everything else. */
  readonly allExcluded: NoPickReason;
  /** Keys to pick with; null for keyless algorithms. */
  readonly keys: readonly RoutingKey[] | null;
  /** Counts in shared cells (shared-loads.ts), one thread using them: the contract must hold alike. */
  readonly shared?: boolean;
  /** The proxy's zone, for requests without a key (zone-aware.ts). */
  readonly zone?: ZonePreference;
}

/** harness() for a contract case: with fresh shared cells for each board when the case asks for them, and its zone. */
function caseHarness(c: ContractCase): typeof harness {
  return (config, list, seed = 7, options = {}) => harness(config, list, seed, c.shared === true ? { ...options, shared: SharedLoads.create(64) } : options, c.zone ?? null);
}

const OUTCOMES: readonly Outcome[] = ['ok', 'http-5xx', 'connect-failed', 'reset', 'timeout', 'cancelled'];

/** R1 and R4 for one algorithm: results, not exceptions, exclusions honoured, in-flight accounted, the in-flight limit kept. */
export function contract(c: ContractCase): void {
  const keyAt = (i: number): RoutingKey | null => (c.keys === null ? null : c.keys[i % c.keys.length]!);
  const make = caseHarness(c);

  test(`${c.label}: a balancer with no set, or an empty one, answers 'empty'`, () => {
    const fresh = make(c.config, null);
    expectNone(fresh.balancer.pick(keyAt(0), null), 'empty');
    const h = make(c.config, []);
    for (let i = 0; i < 5; i++) expectNone(h.balancer.pick(keyAt(i), null), 'empty');
    assertIdle(h.board, c.label);
  });

  test(`${c.label}: every endpoint draining answers '${c.allDraining}', and nothing is counted`, () => {
    const h = make(c.config, c.endpoints.map((e) => ({ ...e, draining: true })));
    for (let i = 0; i < 50; i++) expectNone(h.balancer.pick(keyAt(i), null), c.allDraining);
    assertIdle(h.board, c.label);
  });

  test(`${c.label}: a pick never returns an excluded or draining endpoint`, () => {
    const rng = seededRng(11);
    const list = c.endpoints.map((e, i) => ({ ...e, draining: i === 1 }));
    const h = make(c.config, list);
    const set = h.board.set;
    for (let round = 0; round < 300; round++) {
      const exclude = new Set<Endpoint>();
      for (const e of set.endpoints) if (rng.nextUint32() % 3 === 0) exclude.add(e);
      const r = h.balancer.pick(keyAt(round), exclude);
      if (r.kind === 'ok') {
        assert.ok(!exclude.has(r.endpoint), `round ${round}: picked excluded ${r.endpoint.name}`);
        assert.ok(!r.endpoint.draining, `round ${round}: picked draining ${r.endpoint.name}`);
        r.done(0, 'ok');
      } else {
        assert.ok(['all-unavailable', 'owner-missing'].includes(r.reason), `round ${round}: ${r.reason}`);
      }
    }
    for (let i = 0; i < 20; i++) expectNone(h.balancer.pick(keyAt(i), new Set(set.endpoints)), c.allExcluded);
    assertIdle(h.board, c.label);
  });

  test(`${c.label}: in-flight returns to zero after done() for every pick, whatever the outcome`, () => {
    const rng = seededRng(5);
    const h = make(c.config, c.endpoints);
    const open: Pick[] = [];
    let picked = 0;
    for (let step = 0; step < 4_000; step++) {
      if (open.length > 0 && rng.nextUint32() % 2 === 0) {
        const at = rng.nextUint32() % open.length;
        const p = open[at]!;
        open[at] = open[open.length - 1]!;
        open.pop();
        h.clock.advance(rng.nextUint32() % 20);
        p.done(h.clock.nowMs() - 5, OUTCOMES[rng.nextUint32() % OUTCOMES.length]!);
      } else {
        const p = expectOk(h.balancer.pick(keyAt(step), null));
        picked++;
        open.push(p);
        const sum = h.board.loads.reduce((a, l) => a + l.inflight, 0);
        assert.equal(h.board.totalInflight, sum, 'total in-flight is the sum over endpoints');
        assert.equal(h.board.totalInflight, open.length);
      }
    }
    for (const p of open) p.done(h.clock.nowMs(), 'ok');
    assert.ok(picked > 1_000);
    assertIdle(h.board, c.label);
    assert.equal(h.board.loads.reduce((a, l) => a + l.picks, 0), picked, 'every pick is counted once');
  });

  limitContract(c);
}

/** The same algorithm with bounded loads at `factor` (keyed configs only; others unchanged). */
function withLoadFactor(config: BalancerConfig, factor: number | null): BalancerConfig {
  return 'keyless' in config ? { ...config, loadFactor: factor } : config;
}

/** What a pick may say when nothing can take the request, judged from the board as it was before the pick. */
function expectedMiss(board: LoadBoard, exclude: Set<Endpoint>): NoPickReason {
  return board.loads.some((l) => l.available && !exclude.has(l.endpoint)) ? 'saturated' : 'all-unavailable';
}

/**
 * The in-flight limit for one algorithm: no endpoint ever goes above it, a full endpoint is never
 * picked, a pick never gives up while some endpoint could take the request, and a refusal says
 * `saturated` exactly when only limits stood in the way. A hot key at the limit spills along its
 * own preference order, and the board's hook says when room comes back.
 */
function limitContract(c: ContractCase): void {
  const make = caseHarness(c);
  const keyAt = (i: number): RoutingKey | null => (c.keys === null ? null : c.keys[i % c.keys.length]!);
  const factors = c.keys === null ? [null] : [null, 1.25];

  for (const factor of factors) {
    const label = `${c.label}${factor === null ? '' : ` (bounded loads ${factor})`}`;
    test(`${label}: under random load, marks and exclusions, no endpoint passes maxInflight and no pick gives up while one has room`, () => {
      const op = fc.oneof(
        // More picks than ends, so that runs reach saturation and leave it again.
        { arbitrary: fc.record({ kind: fc.constant('pick' as const), key: fc.nat(), exclude: fc.nat(), excluding: fc.boolean() }), weight: 7 },
        { arbitrary: fc.record({ kind: fc.constant('done' as const), at: fc.nat() }), weight: 4 },
        { arbitrary: fc.record({ kind: fc.constant('mark' as const), at: fc.nat(), down: fc.boolean() }), weight: 1 },
      );
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 3 }), fc.array(op, { minLength: 1, maxLength: 200 }), (cap, ops) => {
          const h = make(withLoadFactor(c.config, factor), c.endpoints, 7, { maxInflight: cap });
          const eps = h.board.set.endpoints;
          const open: Pick[] = [];
          for (const o of ops) {
            if (o.kind === 'done') {
              if (open.length === 0) continue;
              const j = o.at % open.length;
              open[j]!.done(h.clock.nowMs(), 'ok');
              open[j] = open[open.length - 1]!;
              open.pop();
            } else if (o.kind === 'mark') {
              h.board.setDown(eps[o.at % eps.length]!.name, 'ejected', o.down);
            } else {
              const exclude = new Set<Endpoint>();
              if (o.excluding) for (let i = 0; i < eps.length; i++) if ((o.exclude >> i) & 1) exclude.add(eps[i]!);
              const key = keyAt(o.key);
              const room = h.board.loads.filter((l) => l.available && l.inflight < cap && !exclude.has(l.endpoint));
              const miss = expectedMiss(h.board, exclude);
              const r = h.balancer.pick(key, o.excluding ? exclude : null);
              if (r.kind === 'ok') {
                const l = h.board.loads[r.endpoint.index]!;
                assert.ok(l.inflight <= cap, `${r.endpoint.name} at ${l.inflight}, above the limit ${cap}`);
                assert.ok(room.includes(l), `picked ${r.endpoint.name}, which had no room, was out or excluded`);
                open.push(r);
              } else if (r.reason === 'owner-missing' || r.reason === 'no-range') {
                const owner = key === null ? null : asHashing(h.balancer).owner(key);
                const ownerLoad = owner === null ? null : h.board.loads[owner.index]!;
                assert.ok(ownerLoad === null || !ownerLoad.available || exclude.has(ownerLoad.endpoint), `${r.reason} while the owner ${owner?.name ?? ''} was in rotation`);
              } else {
                assert.equal(room.length, 0, `${r.reason} while ${room.map((l) => l.endpoint.name).join(', ')} had room`);
                assert.equal(r.reason, miss);
              }
            }
          }
          for (const p of open) p.done(h.clock.nowMs(), 'ok');
          assertIdle(h.board, label);
        }),
        { seed: 20_240_601, numRuns: 60 },
      );
    });
  }

  test(`${c.label}: with every endpoint at its limit a pick answers 'saturated'; the hook says when one frees, and the next pick takes it`, () => {
    const cap = 2;
    const h = make(c.config, c.endpoints, 7, { maxInflight: cap });
    const n = h.board.loads.length;
    let freed = 0;
    h.board.onCapacity = () => void freed++;
    const open: Pick[] = [];
    for (let i = 0; i < n * cap; i++) open.push(expectOk(h.balancer.pick(keyAt(i), null), `pick ${i}`));
    for (const l of h.board.loads) assert.equal(l.inflight, cap, `${l.endpoint.name} full`);
    for (let i = 0; i < 10; i++) expectNone(h.balancer.pick(keyAt(i), null), 'saturated');
    const gone = open.splice(3, 1)[0]!;
    gone.done(h.clock.nowMs(), 'ok');
    assert.equal(freed, 1);
    const again = expectOk(h.balancer.pick(keyAt(0), null));
    assert.equal(again.endpoint, gone.endpoint, 'the only endpoint with room');
    open.push(again);
    expectNone(h.balancer.pick(keyAt(1), null), 'saturated');
    // Marks still win: with every endpoint out, waiting cannot help.
    for (const e of h.board.set.endpoints) h.board.setDown(e.name, 'failed-check', true);
    expectNone(h.balancer.pick(keyAt(0), null), c.allDraining);
    for (const p of open) p.done(h.clock.nowMs(), 'ok');
    assertIdle(h.board, c.label);
  });

  if (c.keys !== null) {
    test(`${c.label}: a hot key at its owner's limit spills along its own preference order, never above the limit`, () => {
      const cap = 3;
      const h = make(c.config, c.endpoints, 7, { maxInflight: cap });
      const n = h.board.loads.length;
      for (const key of c.keys!.slice(0, 20)) {
        const order = asHashing(h.balancer).preference(key, n);
        if (order.length === 0) continue;
        const open: Pick[] = [];
        for (let i = 0; i < n * cap; i++) {
          const p = expectOk(h.balancer.pick(key, null), `pick ${i} of one key`);
          assert.equal(p.endpoint.name, order[Math.floor(i / cap)]!.name, `pick ${i}: the key's choice ${Math.floor(i / cap)}`);
          open.push(p);
        }
        expectNone(h.balancer.pick(key, null), 'saturated');
        // The second choice frees a slot, then the owner: the key goes home first.
        open.splice(cap, 1)[0]!.done(h.clock.nowMs(), 'ok');
        open.splice(0, 1)[0]!.done(h.clock.nowMs(), 'ok');
        const home = expectOk(h.balancer.pick(key, null));
        assert.equal(home.endpoint.name, order[0]!.name);
        open.push(home);
        const next = expectOk(h.balancer.pick(key, null));
        assert.equal(next.endpoint.name, order[1]!.name);
        open.push(next);
        for (const p of open) p.done(h.clock.nowMs(), 'ok');
        assertIdle(h.board, c.label);
      }
    });
  }
}

/** A keyed balancer from its config and endpoints, for owner questions (no load involved). */
export function keyed(config: BalancerConfig, list: readonly EndpointSpec[]): HashingBalancer {
  return asHashing(harness(config, list).balancer);
}

export interface Movement {
  /** Keys whose owner changed. */
  readonly moved: number;
  /** Keys the removed (or added) endpoint owned before (or after). */
  readonly owned: number;
  /** Moved keys that did not involve that endpoint. */
  readonly strays: number;
}

/** What removing `name` from `list` does to the owners of `keys`. */
export function removal(config: BalancerConfig, list: readonly EndpointSpec[], name: string, keys: readonly RoutingKey[]): Movement {
  const before = ownersOf(keyed(config, list), keys);
  const after = ownersOf(keyed(config, list.filter((e) => e.name !== name)), keys);
  let strays = 0;
  for (let i = 0; i < keys.length; i++) if (before[i] !== after[i] && before[i] !== name) strays++;
  return { moved: countMoved(before, after), owned: countOf(before, name), strays };
}

/** What adding `extra` to `list` does to the owners of `keys`. */
export function addition(config: BalancerConfig, list: readonly EndpointSpec[], extra: EndpointSpec, keys: readonly RoutingKey[]): Movement {
  const before = ownersOf(keyed(config, list), keys);
  const after = ownersOf(keyed(config, [...list, extra]), keys);
  let strays = 0;
  for (let i = 0; i < keys.length; i++) if (before[i] !== after[i] && after[i] !== extra.name) strays++;
  return { moved: countMoved(before, after), owned: countOf(after, extra.name), strays };
}

/** Shares of keys per endpoint name. */
export function shares(config: BalancerConfig, list: readonly EndpointSpec[], keys: readonly RoutingKey[]): Map<string, number> {
  const owners = ownersOf(keyed(config, list), keys);
  const out = new Map<string, number>();
  for (const e of list) out.set(e.name, countOf(owners, e.name) / keys.length);
  return out;
}

/** The same keys, same owners, whatever the order the endpoints arrive in. */
export function assertOrderFree(config: BalancerConfig, list: readonly EndpointSpec[], keys: readonly RoutingKey[], seed = 3): void {
  const rng = seededRng(seed);
  const reference = ownersOf(keyed(config, list), keys);
  for (let round = 0; round < 4; round++) {
    assert.deepEqual(ownersOf(keyed(config, shuffle(list, rng)), keys), reference, `shuffle ${round}`);
  }
}

/** Keys belong to names: new addresses for every endpoint move no key. */
export function assertAddressFree(config: BalancerConfig, list: readonly EndpointSpec[], keys: readonly RoutingKey[]): void {
  const reference = ownersOf(keyed(config, list), keys);
  const readdressed = list.map((e, i) => ({ ...e, address: `[fd00::${i + 1}]:9${i}` }));
  assert.equal(countMoved(reference, ownersOf(keyed(config, readdressed), keys)), 0);
  // Also on a live balancer, across an update.
  const b = keyed(config, list);
  b.update(setOf(readdressed, 99));
  assert.deepEqual(ownersOf(b, keys), reference);
}
