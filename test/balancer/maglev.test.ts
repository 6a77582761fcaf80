import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createEndpointSet } from '../../src/balancer/endpoint.js';
import type { KeyedConfig } from '../../src/balancer/factory.js';
import { defaultBalancerConfig } from '../../src/balancer/factory.js';
import type { EndpointSet } from '../../src/balancer/endpoint.js';
import { hash64 } from '../../src/balancer/hash.js';
import { MAX_TABLE_SIZE, Maglev, SMALL_SET_LIMIT, SMALL_TABLE_SIZE, isPrime, maglevTableSize } from '../../src/balancer/maglev.js';
import { ConfigError } from '../../src/errors.js';
import { addition, assertAddressFree, assertOrderFree, contract, keyed, makeKeys, removal, shares, specs, weighted } from './helpers.js';

const MAGLEV = defaultBalancerConfig('maglev') as KeyedConfig;
const KEYS = makeKeys(20_000);
const TEN = specs(10);

contract({ label: 'maglev', config: MAGLEV, endpoints: specs(6), allDraining: 'all-unavailable', allExcluded: 'all-unavailable', keys: KEYS.slice(0, 500) });

test('maglev: removing one of 10 endpoints moves its keys plus at most 3% of all keys', () => {
  for (const name of ['svc-0', 'svc-5', 'svc-9']) {
    const m = removal(MAGLEV, TEN, name, KEYS);
    assert.ok(m.moved >= m.owned, `${name}: every key it owned moved`);
    assert.ok(m.moved <= m.owned + 0.03 * KEYS.length, `${name}: moved ${m.moved}, owned ${m.owned}, strays ${m.strays}`);
  }
});

test('maglev: adding an 11th endpoint moves about 1/11 of the keys', () => {
  const m = addition(MAGLEV, TEN, { name: 'svc-new', address: '10.9.9.9:80' }, KEYS);
  const ideal = KEYS.length / 11;
  assert.ok(m.moved <= ideal * 1.2 && m.moved >= ideal / 1.2, `moved ${m.moved}, ideal ${ideal.toFixed(0)}`);
  assert.ok(m.strays <= 0.03 * KEYS.length, `strays ${m.strays}`);
});

test('maglev: input order and addresses do not matter', () => {
  assertOrderFree(MAGLEV, weighted([1, 3, 2, 5, 1, 1, 2]), KEYS);
  assertAddressFree(MAGLEV, TEN, KEYS);
});

test('maglev: the table splits evenly, and by weight (1:2:3:4 within 5%)', () => {
  const t = new Maglev(65_537).build(createEndpointSet(TEN));
  const min = Math.min(...t.slotCounts);
  const max = Math.max(...t.slotCounts);
  assert.ok(max - min <= 1, `slots per endpoint ${min}..${max}`);
  assert.equal(t.slotCounts.reduce((a, b) => a + b, 0), 65_537);
  const weights = [1, 2, 3, 4];
  const wt = new Maglev(65_537).build(createEndpointSet(weighted(weights)));
  weights.forEach((w, i) => {
    const share = wt.slotCounts[i]! / 65_537;
    assert.ok(Math.abs(share - w / 10) / (w / 10) < 0.05, `svc-${i}: ${share} of slots`);
  });
  const s = shares(MAGLEV, weighted(weights), KEYS);
  weights.forEach((w, i) => {
    const share = s.get(`svc-${i}`)!;
    assert.ok(Math.abs(share - w / 10) / (w / 10) < 0.08, `svc-${i}: ${share} of keys`);
  });
});

test('maglev: a key belongs to the slot its hash scales to (fastrange); further choices follow per-key probes', () => {
  const t = new Maglev(251).build(createEndpointSet(specs(4)));
  for (const k of KEYS.slice(0, 1_000)) {
    assert.equal(t.first(k), t.table[Math.floor((k.lo * 251) / 2 ** 32)]);
    const probes = [t.next(), t.next(), t.next()];
    for (const p of probes) assert.ok(p >= 0 && p < 4);
    // The same key probes the same way.
    t.first(k);
    assert.deepEqual([t.next(), t.next(), t.next()], probes);
  }
  assert.equal(t.bytes, 251 * 2);
});

test('maglev: table size must be prime, and hold every endpoint', () => {
  assert.ok(isPrime(65_537) && isPrime(2) && isPrime(251) && isPrime(2_000_003) && isPrime(MAX_TABLE_SIZE) && isPrime(2_097_169));
  assert.ok(!isPrime(65_536) && !isPrime(1) && !isPrime(0) && !isPrime(-7) && !isPrime(9) && !isPrime(1.5) && !isPrime(25));
  for (const size of [65_536, 1, 0, 100, 2_097_169, 7.5]) {
    assert.throws(() => new Maglev(size), (e: unknown) => e instanceof ConfigError && e.field === 'balancer.tableSize' && e.message.includes(String(size)), `size ${size}`);
  }
  assert.throws(() => new Maglev(3).build(createEndpointSet(specs(4))), (e: unknown) => e instanceof ConfigError && e.field === 'balancer.tableSize');
  // As many endpoints as slots still builds, one slot each.
  assert.deepEqual(new Maglev(5).build(createEndpointSet(specs(5))).slotCounts, [1, 1, 1, 1, 1]);
});

/**
 * The paper's fill as written (Eisenbud et al., listing 1, with Envoy's weighting): permutation
 * slot (offset + j x skip) mod M, computed afresh for every probe. The builder must give exactly
 * this table, so that sets that keep the 65537 size keep their owners.
 */
function referenceTable(set: EndpointSet, m: number): number[] {
  const eps = set.endpoints;
  const n = eps.length;
  const offset = eps.map((e) => Number(hash64(e.name) % BigInt(m)));
  const skip = eps.map((e) => Number(hash64(e.name, 0x9e3779b97f4a7c15n) % BigInt(m - 1)) + 1);
  const next = new Array<number>(n).fill(0);
  const target = new Array<number>(n).fill(0);
  const maxWeight = Math.max(...eps.map((e) => e.weight));
  const table = new Array<number>(m).fill(-1);
  let filled = 0;
  for (let iteration = 1; filled < m; iteration++) {
    for (let i = 0; i < n && filled < m; i++) {
      if (iteration * eps[i]!.weight < target[i]!) continue;
      target[i]! += maxWeight;
      let slot = (offset[i]! + next[i]! * skip[i]!) % m;
      while (table[slot] !== -1) slot = (offset[i]! + ++next[i]! * skip[i]!) % m;
      table[slot] = i;
      next[i]!++;
      filled++;
    }
  }
  return table;
}

/** Slots whose owner's name differs between two tables of the same size. */
function slotsMoved(a: { table: ArrayLike<number> }, setA: EndpointSet, b: { table: ArrayLike<number> }, setB: EndpointSet): number {
  let moved = 0;
  for (let s = 0; s < a.table.length; s++) if (setA.endpoints[a.table[s]!]!.name !== setB.endpoints[b.table[s]!]!.name) moved++;
  return moved;
}

test('maglev: the fill is the paper\'s, slot for slot, so tables of the old size are unchanged', () => {
  for (const list of [specs(10), weighted([1, 3, 2, 1, 5]), specs(SMALL_SET_LIMIT, 'sharded-svc')]) {
    const set = createEndpointSet(list);
    assert.deepEqual(Array.from(new Maglev(SMALL_TABLE_SIZE).build(set).table), referenceTable(set, SMALL_TABLE_SIZE), `${list.length} endpoints`);
  }
  const small = createEndpointSet(weighted([2, 7, 1]));
  assert.deepEqual(Array.from(new Maglev(251).build(small).table), referenceTable(small, 251));
});

test('maglev: without tableSize the table is sized from the endpoint count, in two steps; a configured size wins', () => {
  assert.equal(MAGLEV.algorithm === 'maglev' && MAGLEV.tableSize, null, 'the default config sizes from the count');
  assert.equal(maglevTableSize(1), SMALL_TABLE_SIZE);
  assert.equal(maglevTableSize(SMALL_SET_LIMIT), SMALL_TABLE_SIZE);
  assert.equal(maglevTableSize(SMALL_SET_LIMIT + 1), MAX_TABLE_SIZE);
  assert.equal(maglevTableSize(100_000), MAX_TABLE_SIZE);
  const auto = new Maglev(null);
  assert.equal(auto.build(createEndpointSet(specs(SMALL_SET_LIMIT))).table.length, SMALL_TABLE_SIZE);
  const big = auto.build(createEndpointSet(specs(SMALL_SET_LIMIT + 1)));
  assert.equal(big.table.length, MAX_TABLE_SIZE);
  assert.equal(big.bytes, MAX_TABLE_SIZE * 2, '2 bytes a slot below 65535 endpoints');
  assert.equal(new Maglev(131_071).build(createEndpointSet(specs(SMALL_SET_LIMIT + 1))).table.length, 131_071, 'a configured size wins');
});

test('maglev: at the default sizes one endpoint leaving or joining moves within 1.1x of its share (24 and 100 endpoints)', () => {
  const auto = new Maglev(null);
  for (const n of [SMALL_SET_LIMIT, 100]) {
    const base = createEndpointSet(specs(n, 'sharded-svc'));
    const before = auto.build(base);
    const m = before.table.length;
    for (const gone of [0, Math.floor(n / 2)]) {
      const smaller = createEndpointSet(specs(n, 'sharded-svc').filter((_, i) => i !== gone));
      const moved = slotsMoved(before, base, auto.build(smaller), smaller);
      assert.ok(moved >= before.slotCounts[gone]!, 'every slot of the leaver moved');
      assert.ok(moved <= 1.1 * (m / n), `n=${n}, sharded-svc-${gone} leaving: moved ${moved} slots, ideal ${(m / n).toFixed(0)}`);
    }
  }
  const base = createEndpointSet(specs(100, 'sharded-svc'));
  const bigger = createEndpointSet(specs(101, 'sharded-svc'));
  const moved = slotsMoved(auto.build(base), base, auto.build(bigger), bigger);
  assert.ok(moved <= 1.1 * (MAX_TABLE_SIZE / 101), `a 101st endpoint: moved ${moved} slots, ideal ${(MAX_TABLE_SIZE / 101).toFixed(0)}`);
});

test('maglev: a set that grows past 24 endpoints gets the larger table, and most keys move once', () => {
  const keys = KEYS.slice(0, 5_000);
  const at24 = keyed(MAGLEV, specs(SMALL_SET_LIMIT));
  const at25 = keyed(MAGLEV, specs(SMALL_SET_LIMIT + 1));
  let moved = 0;
  for (const k of keys) if (at24.owner(k)!.name !== at25.owner(k)!.name) moved++;
  // Within a step a 25th endpoint would move about 1/25 (4%) of the keys; across it, nearly all.
  assert.ok(moved > 0.8 * keys.length, `moved ${moved} of ${keys.length}`);
});
