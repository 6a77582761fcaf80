/**
 * bench:balance: every algorithm over 4, 16, 100 and 1,000 endpoints (in three zones, labelled
 * with two versions), with uniform and Zipf
 * (s = 1.1) keys. One table: balance by keys and by in-flight requests, keys moved when one
 * endpoint leaves or joins (and the ratio to the ideal), cost and allocations per pick, memory of
 * the structure; `hash % N` and random are measured in the same run as references.
 *
 * Cost per pick is measured for each algorithm and size in a process of its own: a proxy runs one
 * algorithm, so its pick path sees one hash core, one load type and one balancer class, and V8
 * compiles it for those alone. Measured in one process after the others, every call site on the
 * shared path (HashingBalancer's core.first, the board's loads) has seen them all and is compiled
 * for many shapes, which costs maglev half again its own pick. The time is CPU time
 * (process.cpuUsage), the least of COST_ROUNDS rounds, so that other processes on a shared machine
 * add as little as they can.
 *
 * Run with `npm run bench:balance` (it restarts node with --expose-gc and a large young
 * generation, so that a scavenge during an allocation probe is rare and detected when it happens).
 */
import { spawnSync } from 'node:child_process';
import { PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { Balancer } from '../src/balancer/balancer.js';
import { ManualClock } from '../src/balancer/clock.js';
import type { Endpoint, EndpointSet } from '../src/balancer/endpoint.js';
import { createEndpointSet } from '../src/balancer/endpoint.js';
import type { Algorithm, BalancerConfig } from '../src/balancer/factory.js';
import { createBalancer, defaultBalancerConfig } from '../src/balancer/factory.js';
import type { RoutingKey } from '../src/balancer/hash.js';
import { hashKey, hashMod } from '../src/balancer/hash.js';
import type { HashCore, HashCoreBuilder } from '../src/balancer/hashing-balancer.js';
import { HashingBalancer } from '../src/balancer/hashing-balancer.js';
import { LoadBoard } from '../src/balancer/load-board.js';
import { SubsetRouter } from '../src/balancer/subsets.js';
import type { Exclusion, PickResult } from '../src/balancer/balancer.js';
import { seededRng } from '../src/balancer/rng.js';
import type { Rng } from '../src/balancer/rng.js';

const NODE_FLAGS = ['--expose-gc', '--max-semi-space-size=128'];
if (typeof globalThis.gc !== 'function') {
  const r = spawnSync(process.execPath, [...NODE_FLAGS, fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
const gc = globalThis.gc as () => void;

const SIZES = (process.env.BENCH_SIZES ?? '4,16,100,1000').split(',').map(Number);
const KEY_COUNT = 50_000;
const ZIPF_S = 1.1;
const LOAD_FACTOR = 1.25;
/** In-flight requests per endpoint in the load simulation. */
const INFLIGHT_PER_ENDPOINT = 8;
const SIM_PICKS = 100_000;
const COST_PICKS = 200_000;
const COST_ROUNDS = 5;
const PROBE_PICKS = 100_000;

/** `hash % N`: what a sharding proxy written in an afternoon does. A reference, not a product. */
class Modulo implements HashCoreBuilder {
  readonly algorithm = 'hash % N';
  readonly strictOwner = false;
  build(set: EndpointSet): HashCore {
    const n = set.endpoints.length;
    let cursor = 0;
    return {
      missReason: 'empty',
      first(key: RoutingKey): number {
        cursor = hashMod(key.hi, key.lo, n);
        return cursor;
      },
      next(): number {
        cursor = (cursor + 1) % n;
        return cursor;
      },
    };
  }
}

/** Header values of every subset pick: the version-0 half of the endpoints. */
const SUBSET_VALUES: readonly (string | undefined)[] = ['v0'];

/**
 * The proxy's pick path with subsets: the router's select() for fixed header values, then the
 * subset's own pick.
 */
class SubsetPicks implements Balancer {
  readonly algorithm: string;
  readonly keyed: boolean;
  readonly #all: Balancer;
  readonly #router: SubsetRouter;

  constructor(config: BalancerConfig, clock: ManualClock, rng: Rng) {
    const board = new LoadBoard(clock);
    const build = (b: LoadBoard): Balancer => createBalancer(config, { clock, rng, board: b });
    this.#all = build(board);
    this.algorithm = this.#all.algorithm;
    this.keyed = this.#all.keyed;
    this.#router = new SubsetRouter({ selectors: [{ header: 'x-version', label: 'version' }], fallback: 'any', defaultSubset: null, maxSubsets: 64 }, board, build, this.#all);
  }

  update(set: EndpointSet): void {
    this.#all.update(set);
    this.#router.update(set);
  }

  pick(key: RoutingKey | null, exclude: Exclusion | null): PickResult {
    return this.#router.select(SUBSET_VALUES)!.pick(key, exclude);
  }
}

/** Zone-aware picks with one own-zone endpoint ejected, so that every pick draws local or spill. */
class OneOut implements Balancer {
  readonly algorithm: string;
  readonly keyed = false;
  readonly #inner: Balancer;
  readonly #board: LoadBoard;

  constructor(config: BalancerConfig, clock: ManualClock, rng: Rng) {
    this.#board = new LoadBoard(clock);
    this.#inner = createBalancer(config, { clock, rng, board: this.#board, zone: { zone: 'zone-0', minEndpoints: 1 } });
    this.algorithm = this.#inner.algorithm;
  }

  update(set: EndpointSet): void {
    this.#inner.update(set);
    this.#board.setDown('sharded-svc-0', 'ejected', true);
  }

  pick(key: RoutingKey | null, exclude: Exclusion | null): PickResult {
    return this.#inner.pick(key, exclude);
  }
}

interface Variant {
  readonly label: string;
  readonly keyed: boolean;
  readonly reference: boolean;
  readonly loadFactor: number | null;
  readonly make: (clock: ManualClock, rng: Rng) => Balancer;
}

function variant(algorithm: Algorithm, loadFactor: number | null = null, table = false): Variant {
  const config: BalancerConfig =
    algorithm === 'ordinal'
      ? { ...(defaultBalancerConfig('ordinal', loadFactor) as Extract<BalancerConfig, { algorithm: 'ordinal' }>), onMissing: 'next' }
      : algorithm === 'rendezvous'
        ? { ...(defaultBalancerConfig('rendezvous', loadFactor) as Extract<BalancerConfig, { algorithm: 'rendezvous' }>), table }
        : defaultBalancerConfig(algorithm, loadFactor);
  const keyed = 'keyless' in config;
  const name = table ? `${algorithm} table` : algorithm;
  return {
    label: loadFactor === null ? name : `${name} +bl`,
    keyed,
    reference: false,
    loadFactor,
    make: (clock, rng) => createBalancer(config, { clock, rng }),
  };
}

const VARIANTS: Variant[] = [
  { label: 'hash % N (ref)', keyed: true, reference: true, loadFactor: null, make: (clock) => new HashingBalancer(new Modulo(), new LoadBoard(clock)) },
  { ...variant('random'), label: 'random (ref)', reference: true },
  variant('round-robin'),
  variant('least-request'),
  variant('p2c'),
  variant('peak-ewma'),
  variant('ring-hash'),
  variant('maglev'),
  variant('rendezvous'),
  variant('rendezvous', null, true),
  variant('jump'),
  variant('ordinal'),
  variant('ring-hash', LOAD_FACTOR),
  variant('maglev', LOAD_FACTOR),
  variant('rendezvous', LOAD_FACTOR),
  variant('rendezvous', LOAD_FACTOR, true),
  variant('jump', LOAD_FACTOR),
  variant('ordinal', LOAD_FACTOR),
  { label: 'p2c +zone', keyed: false, reference: false, loadFactor: null, make: (clock, rng) => createBalancer({ algorithm: 'p2c' }, { clock, rng, zone: { zone: 'zone-0', minEndpoints: 1 } }) },
  { label: 'round-robin +zone, 1 out', keyed: false, reference: false, loadFactor: null, make: (clock, rng) => new OneOut({ algorithm: 'round-robin' }, clock, rng) },
  { label: 'p2c subset', keyed: false, reference: false, loadFactor: null, make: (clock, rng) => new SubsetPicks({ algorithm: 'p2c' }, clock, rng) },
  { label: 'ring-hash subset', keyed: true, reference: false, loadFactor: null, make: (clock, rng) => new SubsetPicks(defaultBalancerConfig('ring-hash'), clock, rng) },
];

function podSet(n: number, version = 0): EndpointSet {
  return createEndpointSet(
    Array.from({ length: n }, (_, i) => ({ name: `sharded-svc-${i}`, address: `10.0.${i >> 8}.${i & 255}:8080`, zone: `zone-${i % 3}`, labels: { version: `v${i % 2}` } })),
    version,
  );
}

const KEYS: RoutingKey[] = Array.from({ length: KEY_COUNT }, (_, i) => hashKey(`account-${i}`));

/** Draws key indices with P(rank k) proportional to 1 / k^s, by inverse transform over a table. */
function zipfSampler(n: number, s: number, rng: Rng): () => number {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let k = 0; k < n; k++) cdf[k] = sum += 1 / Math.pow(k + 1, s);
  return () => {
    const u = (rng.nextUint32() / 4294967296) * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid]! >= u) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };
}

interface Row {
  label: string;
  n: number;
  keysMaxAvg: number | null;
  uniformInflight: number;
  zipfInflight: number;
  /** The worst ratio of a picked endpoint's in-flight count to its bound ceil(c x avg); <= 1 holds the bound. */
  boundRatio: number | null;
  leavePct: number | null;
  leaveRatio: number | null;
  joinPct: number | null;
  joinRatio: number | null;
  ns: number;
  bytesPerPick: number;
  gcDuringProbe: boolean;
  memoryBytes: number;
}

function owners(lb: Balancer, set: EndpointSet): string[] {
  lb.update(set);
  const out = new Array<string>(KEYS.length);
  for (let i = 0; i < KEYS.length; i++) {
    const p = lb.pick(KEYS[i]!, null);
    if (p.kind !== 'ok') throw new Error(`${lb.algorithm}: no owner for ${KEYS[i]!.text}: ${p.reason}`);
    out[i] = p.endpoint.name;
    p.done(0, 'ok');
  }
  return out;
}

function movedFraction(a: readonly string[], b: readonly string[]): number {
  let moved = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) moved++;
  return moved / a.length;
}

/** Key movement on leave (averaged over several leavers) and on join, as fractions. */
function movement(v: Variant, n: number): { leave: number; join: number } {
  const base = podSet(n);
  const fresh = (): Balancer => v.make(new ManualClock(), seededRng(1));
  const before = owners(fresh(), base);
  // Jump and ordinal are defined over ordered shards: a StatefulSet scales down by its highest
  // ordinal, so that is the endpoint that leaves. The others lose endpoints spread over the set.
  const ordered = v.label.startsWith('jump') || v.label.startsWith('ordinal');
  const leavers = ordered ? [n - 1] : Array.from({ length: Math.min(n, 5) }, (_, i) => Math.floor((i * n) / Math.min(n, 5)));
  let leave = 0;
  for (const gone of leavers) {
    const smaller = createEndpointSet(base.endpoints.filter((e) => e.name !== `sharded-svc-${gone}`), 1);
    leave += movedFraction(before, owners(fresh(), smaller));
  }
  // Joins likewise: one newcomer's share varies with its hash, so several newcomers, one at a time.
  const joiners = ordered ? [n] : [n, n + 1, n + 2, n + 3, n + 4];
  let join = 0;
  for (const j of joiners) {
    const bigger = createEndpointSet([...base.endpoints, { name: `sharded-svc-${j}`, address: '10.1.0.1:8080' }], 2);
    join += movedFraction(before, owners(fresh(), bigger));
  }
  return { leave: leave / leavers.length, join: join / joiners.length };
}

/**
 * Requests arrive and finish at random with about INFLIGHT_PER_ENDPOINT x n in flight. Returns the
 * highest max/avg of in-flight counts seen after each pick, and, for bounded loads, the worst
 * ratio of the picked endpoint's count to ceil(c x average).
 */
function simulate(v: Variant, n: number, draw: () => number, rng: Rng): { maxAvg: number; boundRatio: number } {
  const clock = new ManualClock();
  const lb = v.make(clock, seededRng(3));
  const set = podSet(n);
  lb.update(set);
  const counts = new Int32Array(n);
  const target = INFLIGHT_PER_ENDPOINT * n;
  const live: { done: (t: number, o: 'ok') => void; ep: Endpoint; t: number }[] = [];
  let total = 0;
  let worst = 0;
  let worstBound = 0;
  for (let step = 0; step < SIM_PICKS; step++) {
    clock.advance(0.01);
    while (live.length >= target || (live.length > 0 && rng.nextUint32() % 3 === 0)) {
      const j = rng.nextUint32() % live.length;
      const r = live[j]!;
      live[j] = live[live.length - 1]!;
      live.pop();
      counts[r.ep.index]!--;
      total--;
      r.done(r.t, 'ok');
    }
    const key = v.keyed ? KEYS[draw()]! : null;
    const p = lb.pick(key, null);
    if (p.kind !== 'ok') throw new Error(`${v.label}: no pick: ${p.reason}`);
    const ep = p.endpoint;
    counts[ep.index]!++;
    total++;
    live.push({ done: p.done, ep, t: clock.nowMs() });
    if (v.loadFactor !== null) {
      const bound = Math.ceil((v.loadFactor * total) / n - 1e-9);
      worstBound = Math.max(worstBound, counts[ep.index]! / bound);
    }
    if (step > SIM_PICKS / 10) {
      let max = 0;
      for (let i = 0; i < n; i++) if (counts[i]! > max) max = counts[i]!;
      worst = Math.max(worst, (max * n) / total);
    }
  }
  return { maxAvg: worst, boundRatio: worstBound };
}

function keysMaxAvg(v: Variant, n: number): number | null {
  if (!v.keyed) return null;
  const per = new Map<string, number>();
  for (const o of owners(v.make(new ManualClock(), seededRng(1)), podSet(n))) per.set(o, (per.get(o) ?? 0) + 1);
  return (Math.max(...per.values()) * n) / KEYS.length;
}

interface Cost {
  ns: number;
  bytesPerPick: number;
  gcDuringProbe: boolean;
  memoryBytes: number;
}

/**
 * CPU ns per pick+done and bytes allocated per pick, with the memory the built structure holds.
 * Run in a process of its own (costInChild).
 */
function cost(v: Variant, n: number): Cost {
  const clock = new ManualClock();
  const keys = KEYS.slice(0, 4096);
  // Typed arrays keep their bytes outside the JS heap: count both.
  const used = (): number => {
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  const set = podSet(n);
  gc();
  const heap0 = used();
  // Eight live copies, so that garbage freed by the second collection can't hide one; a result the
  // noise still swallows is shown as "?", never as 0.
  const copies = [0, 1, 2, 3, 4, 5, 6, 7].map(() => {
    const b = v.make(clock, seededRng(5));
    b.update(set);
    return b;
  });
  gc();
  const memoryBytes = Math.round((used() - heap0) / copies.length);
  const lb = copies[0]!;
  const run = (picks: number): void => {
    for (let i = 0; i < picks; i++) {
      const p = lb.pick(v.keyed ? keys[i & 4095]! : null, null);
      if (p.kind === 'ok') p.done(0, 'ok');
    }
  };
  // Warm up as long as a proxy's first seconds: V8 tiers the loop up in steps, and compiling
  // allocates, which the probes below must not see.
  run(300_000);
  let ns = Infinity;
  for (let round = 0; round < COST_ROUNDS; round++) {
    const c0 = process.cpuUsage();
    run(COST_PICKS);
    const c1 = process.cpuUsage(c0);
    ns = Math.min(ns, ((c1.user + c1.system) * 1000) / COST_PICKS);
  }
  // Allocation probe: no GC may run between the two heap readings; the observer tells if one did.
  let gcs = 0;
  const obs = new PerformanceObserver((list) => {
    gcs += list.getEntries().length;
  });
  obs.observe({ entryTypes: ['gc'] });
  // The least of six probes: compilation (tier-up of the loop, which V8 does in steps and in the
  // background) allocates now and then, a probe or two in a fresh process.
  let bytesPerPick = Infinity;
  let gcDuringProbe = false;
  for (let probe = 0; probe < 6; probe++) {
    gc();
    const gcsBefore = gcs;
    const h0 = process.memoryUsage().heapUsed;
    run(PROBE_PICKS);
    const h1 = process.memoryUsage().heapUsed;
    if (gcs === gcsBefore) bytesPerPick = Math.min(bytesPerPick, Math.max(0, (h1 - h0) / PROBE_PICKS));
    else gcDuringProbe = true;
  }
  obs.disconnect();
  return { ns, bytesPerPick: bytesPerPick === Infinity ? NaN : bytesPerPick, gcDuringProbe: gcDuringProbe && bytesPerPick === Infinity, memoryBytes };
}

function fmt(x: number | null, digits = 2): string {
  return x === null ? '-' : x.toFixed(digits);
}

function bytes(b: number): string {
  if (b <= 0) return '?';
  if (b < 1024) return `${b} B`;
  if (b < 1024 * 1024) return `${(b / 1024).toFixed(1)} KiB`;
  return `${(b / 1024 / 1024).toFixed(2)} MiB`;
}

/** cost() of one variant at one size, in a fresh node process (see the module comment). */
function costInChild(v: Variant, n: number): Cost {
  const r = spawnSync(process.execPath, [...NODE_FLAGS, fileURLToPath(import.meta.url)], {
    env: { ...process.env, BENCH_COST_CHILD: JSON.stringify({ label: v.label, n }) },
    encoding: 'utf8',
  });
  const last = r.stdout.trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !last.startsWith('{')) throw new Error(`cost of ${v.label} at ${n}: exit ${String(r.status)}: ${r.stderr}`);
  const c = JSON.parse(last) as Cost;
  // JSON has no NaN: an unmeasured allocation comes back as null.
  return { ...c, bytesPerPick: c.bytesPerPick ?? NaN };
}

const child = process.env.BENCH_COST_CHILD;
if (child !== undefined) {
  const { label, n } = JSON.parse(child) as { label: string; n: number };
  const v = VARIANTS.find((x) => x.label === label);
  if (v === undefined) throw new Error(`no variant ${label}`);
  console.log(JSON.stringify(cost(v, n)));
  process.exit(0);
}

const rows: Row[] = [];
const hashNs = (() => {
  const texts = Array.from({ length: 4096 }, (_, i) => `account-${i}`);
  let acc = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < 200_000; i++) acc ^= hashKey(texts[i & 4095]!).lo;
  const ns = Number(process.hrtime.bigint() - t0) / 200_000;
  return acc === 0.5 ? 0 : ns;
})();

for (const n of SIZES) {
  for (const v of VARIANTS) {
    const rngU = seededRng(11);
    const rngZ = seededRng(12);
    const uniform = simulate(v, n, () => rngU.nextUint32() % KEY_COUNT, seededRng(21));
    const zipf = simulate(v, n, zipfSampler(KEY_COUNT, ZIPF_S, rngZ), seededRng(22));
    const moves = v.keyed ? movement(v, n) : null;
    const c = costInChild(v, n);
    rows.push({
      label: v.label,
      n,
      keysMaxAvg: keysMaxAvg(v, n),
      uniformInflight: uniform.maxAvg,
      zipfInflight: zipf.maxAvg,
      boundRatio: v.loadFactor === null ? null : Math.max(uniform.boundRatio, zipf.boundRatio),
      leavePct: moves && moves.leave * 100,
      leaveRatio: moves && moves.leave * n,
      joinPct: moves && moves.join * 100,
      joinRatio: moves && moves.join * (n + 1),
      ...c,
    });
    process.stderr.write('.');
  }
}
process.stderr.write('\n');

const header = ['algorithm', 'N', 'keys max/avg', 'in-flight max/avg uniform', 'zipf', 'peak/bound', 'leave moved %', 'x ideal', 'join moved %', 'x ideal', 'CPU ns/pick', 'x hash%N', 'B/pick', 'memory'];
const table: string[][] = rows.map((r) => {
  const ref = rows.find((x) => x.n === r.n && x.label.startsWith('hash % N'))!;
  return [
    r.label,
    String(r.n),
    fmt(r.keysMaxAvg),
    fmt(r.uniformInflight),
    fmt(r.zipfInflight),
    fmt(r.boundRatio),
    fmt(r.leavePct, 1),
    fmt(r.leaveRatio),
    fmt(r.joinPct, 1),
    fmt(r.joinRatio),
    r.ns.toFixed(0),
    (r.ns / ref.ns).toFixed(2),
    r.gcDuringProbe ? `~${r.bytesPerPick.toFixed(1)}` : r.bytesPerPick.toFixed(1),
    bytes(r.memoryBytes),
  ];
});
const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
const line = (cells: string[]): string => '| ' + cells.map((c, i) => (i < 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ') + ' |';
console.log(`bench:balance: ${KEY_COUNT} keys; in-flight simulation ${SIM_PICKS} picks at ${INFLIGHT_PER_ENDPOINT} x N in flight, Zipf s = ${ZIPF_S}; +bl = bounded loads c = ${LOAD_FACTOR}`);
console.log(`key hash (xxHash64 of "account-i", once per request, not in ns/pick): ${hashNs.toFixed(0)} ns`);
console.log(line(header));
console.log('|' + widths.map((w, i) => (i < 1 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|') + '|');
for (const row of table) console.log(line(row));

// Goals of the issue, checked against this run's numbers.
const checks: [string, boolean, string][] = [];
const at1000 = rows.filter((r) => r.n === 1000 && !r.label.includes('(ref)'));
if (at1000.length > 0) {
  const slow = at1000.filter((r) => r.ns >= 300);
  checks.push(['every pick under 300 ns at 1,000 endpoints', slow.length === 0, slow.map((r) => `${r.label} ${r.ns.toFixed(0)} ns`).join(', ') || 'all under']);
  const fast = at1000.filter((r) => /^(maglev|jump)/.test(r.label) && r.ns >= 100);
  checks.push(['maglev and jump under 100 ns', fast.length === 0, fast.map((r) => `${r.label} ${r.ns.toFixed(0)} ns`).join(', ') || 'all under']);
}
const allocating = rows.filter((r) => !r.label.includes('(ref)') && r.bytesPerPick >= 1);
checks.push(['no allocation per pick (< 1 B/pick)', allocating.length === 0, allocating.map((r) => `${r.label}@${r.n} ${r.bytesPerPick.toFixed(1)} B`).join(', ') || 'none allocate']);
const consistent = rows.filter((r) => /^(ring-hash|maglev|rendezvous|rendezvous table)$/.test(r.label));
// Maglev's extra is inherent (see src/balancer/maglev.ts); it is reported, in % of all keys, beside the goal.
const maglevExtra = rows
  .filter((r) => r.label === 'maglev')
  .map((r) => `n=${r.n}: +${((r.leavePct ?? 0) - 100 / r.n).toFixed(2)}% of keys`)
  .join(', ');
const far = consistent.filter((r) => (r.leaveRatio ?? 0) > 1.1 || (r.joinRatio ?? 0) > 1.1);
checks.push([`keys moved within 1.1x ideal (ring hash, maglev, rendezvous and its table; maglev's extra on leave: ${maglevExtra})`, far.length === 0, far.map((r) => `${r.label}@${r.n} leave ${fmt(r.leaveRatio)} join ${fmt(r.joinRatio)}`).join(', ') || 'all within']);
const over = rows.filter((r) => r.boundRatio !== null && r.boundRatio > 1);
checks.push([`bounded loads never above ceil(c x avg)`, over.length === 0, over.map((r) => `${r.label}@${r.n} ${fmt(r.boundRatio)}`).join(', ') || 'never above']);
console.log('\nGoals:');
for (const [goal, ok, detail] of checks) console.log(`  ${ok ? 'met    ' : 'MISSED '} ${goal}: ${detail}`);
