import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createEndpointSet } from '../../src/balancer/endpoint.js';
import type { KeyedConfig } from '../../src/balancer/factory.js';
import { defaultBalancerConfig } from '../../src/balancer/factory.js';
import { Maglev, isPrime } from '../../src/balancer/maglev.js';
import { ConfigError } from '../../src/errors.js';
import { addition, assertAddressFree, assertOrderFree, contract, makeKeys, removal, shares, specs, weighted } from './helpers.js';

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
  assert.ok(isPrime(65_537) && isPrime(2) && isPrime(251) && isPrime(2_000_003));
  assert.ok(!isPrime(65_536) && !isPrime(1) && !isPrime(0) && !isPrime(-7) && !isPrime(9) && !isPrime(1.5) && !isPrime(25));
  for (const size of [65_536, 1, 0, 100, 2_000_029, 7.5]) {
    assert.throws(() => new Maglev(size), (e: unknown) => e instanceof ConfigError && e.field === 'balancer.tableSize' && e.message.includes(String(size)), `size ${size}`);
  }
  assert.throws(() => new Maglev(3).build(createEndpointSet(specs(4))), (e: unknown) => e instanceof ConfigError && e.field === 'balancer.tableSize');
  // As many endpoints as slots still builds, one slot each.
  assert.deepEqual(new Maglev(5).build(createEndpointSet(specs(5))).slotCounts, [1, 1, 1, 1, 1]);
});
