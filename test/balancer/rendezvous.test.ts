import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createEndpointSet } from '../../src/balancer/endpoint.js';
import type { KeyedConfig } from '../../src/balancer/factory.js';
import { defaultBalancerConfig } from '../../src/balancer/factory.js';
import { mix32 } from '../../src/balancer/hash.js';
import { hash32 } from '../../src/balancer/hash.js';
import { Rendezvous } from '../../src/balancer/rendezvous.js';
import { addition, assertAddressFree, assertOrderFree, contract, keyed, makeKeys, removal, shares, specs, weighted } from './helpers.js';

const HRW = defaultBalancerConfig('rendezvous') as KeyedConfig;
const KEYS = makeKeys(20_000);
const TEN = specs(10);

const TABLE: KeyedConfig = { ...(HRW as Extract<KeyedConfig, { algorithm: 'rendezvous' }>), table: true };

// What flat rendezvous promises, the seat table (seat-rendezvous.ts) keeps.
for (const [label, config] of [
  ['rendezvous', HRW],
  ['rendezvous table', TABLE],
] as const) {
  contract({ label, config, endpoints: specs(6), allDraining: 'all-unavailable', allExcluded: 'all-unavailable', keys: KEYS.slice(0, 500) });
  contract({ label: `${label} weighted`, config, endpoints: weighted([1, 3, 2, 1, 5]), allDraining: 'all-unavailable', allExcluded: 'all-unavailable', keys: KEYS.slice(0, 500) });

  test(`${label}: removing any one of 10 endpoints moves exactly its keys`, () => {
    for (const e of TEN) {
      const m = removal(config, TEN, e.name, KEYS);
      assert.equal(m.strays, 0, e.name);
      assert.equal(m.moved, m.owned, e.name);
    }
    // 18 units: every removal stays above 12, in the table's same size step.
    const w = weighted([1, 3, 2, 1, 5, 2, 4]);
    for (const e of w) assert.equal(removal(config, w, e.name, KEYS).strays, 0, `weighted ${e.name}`);
  });

  test(`${label}: adding an 11th endpoint moves about 1/11 of the keys, all to it`, () => {
    const m = addition(config, TEN, { name: 'svc-new', address: '10.9.9.9:80' }, KEYS);
    const ideal = KEYS.length / 11;
    assert.equal(m.strays, 0);
    assert.ok(m.moved <= ideal * 1.2 && m.moved >= ideal / 1.2, `moved ${m.moved}, ideal ${ideal.toFixed(0)}`);
  });

  test(`${label}: input order and addresses do not matter`, () => {
    assertOrderFree(config, weighted([1, 3, 2, 5, 1, 1, 2]), KEYS);
    assertOrderFree(config, TEN, KEYS);
    assertAddressFree(config, TEN, KEYS);
  });

  test(`${label}: equal weights share evenly, weights are honoured (1:2:3:4 within 8%)`, () => {
    const even = shares(config, TEN, KEYS);
    for (const [name, share] of even) assert.ok(Math.abs(share - 0.1) < 0.01, `${name}: ${share}`);
    const weights = [1, 2, 3, 4];
    const s = shares(config, weighted(weights), KEYS);
    weights.forEach((w, i) => {
      const share = s.get(`svc-${i}`)!;
      assert.ok(Math.abs(share - w / 10) / (w / 10) < 0.08, `svc-${i}: ${share}, want ${w / 10}`);
    });
  });
}

test('rendezvous: the owner is the highest score, the preference order the next highest', () => {
  const list = specs(7);
  const set = createEndpointSet(list);
  const seeds = set.endpoints.map((e) => hash32(e.name));
  const t = new Rendezvous().build(set);
  for (const k of KEYS.slice(0, 500)) {
    const fold = (k.hi ^ Math.imul(k.lo, 0x85ebca6b)) >>> 0;
    const order = seeds.map((s, i) => [mix32(fold, s), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]).map(([, i]) => i);
    const got = [t.first(k)];
    for (let i = 1; i < 7; i++) got.push(t.next());
    assert.deepEqual(got, order);
    assert.equal(t.next(), -1, 'the order runs dry after every endpoint');
  }
});

test('rendezvous: weighted preference visits every endpoint once, and equal weights of any size rank alike', () => {
  const t = new Rendezvous().build(createEndpointSet(weighted([2, 5, 1, 3])));
  for (const k of KEYS.slice(0, 200)) {
    const got = [t.first(k), t.next(), t.next(), t.next()];
    assert.deepEqual([...got].sort(), [0, 1, 2, 3]);
    assert.equal(t.next(), -1);
  }
  // All weights 3 takes the no-logarithm path; the ranking must be the same as all weights 1.
  const ones = keyed(HRW, specs(6));
  const threes = keyed(HRW, specs(6).map((e) => ({ ...e, weight: 3 })));
  for (const k of KEYS.slice(0, 2_000)) assert.deepEqual(threes.preference(k, 6).map((e) => e.name), ones.preference(k, 6).map((e) => e.name));
});
