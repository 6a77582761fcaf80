import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createEndpointSet } from '../../src/balancer/endpoint.js';
import type { KeyedConfig } from '../../src/balancer/factory.js';
import { defaultBalancerConfig } from '../../src/balancer/factory.js';
import { hashKey } from '../../src/balancer/hash.js';
import { NODES_PER_WEIGHT, RingHash } from '../../src/balancer/ring-hash.js';
import { ConfigError } from '../../src/errors.js';
import { addition, assertAddressFree, assertOrderFree, contract, makeKeys, removal, shares, specs, weighted } from './helpers.js';

const RING = defaultBalancerConfig('ring-hash') as KeyedConfig;
const KEYS = makeKeys(20_000);
const TEN = specs(10);

contract({ label: 'ring-hash', config: RING, endpoints: specs(6), allDraining: 'all-unavailable', allExcluded: 'all-unavailable', keys: KEYS.slice(0, 500) });

test('ring-hash: removing one of 10 endpoints moves only that endpoint\'s keys', () => {
  for (const name of ['svc-0', 'svc-4', 'svc-9']) {
    const m = removal(RING, TEN, name, KEYS);
    assert.equal(m.strays, 0, `${name}: keys of other endpoints moved`);
    assert.equal(m.moved, m.owned, `${name}: moved ${m.moved}, owned ${m.owned}`);
    assert.ok(m.owned > 0);
  }
});

test('ring-hash: the same holds for small sets (no rescaling under the default ring size)', () => {
  for (const n of [2, 3, 5]) {
    const m = removal(RING, specs(n), 'svc-1', KEYS);
    assert.equal(m.strays, 0, `n = ${n}`);
  }
});

test('ring-hash: adding an 11th endpoint moves about 1/11 of the keys, all to it', () => {
  const m = addition(RING, TEN, { name: 'svc-10', address: '10.9.9.9:80' }, KEYS);
  const ideal = KEYS.length / 11;
  assert.equal(m.strays, 0);
  assert.equal(m.moved, m.owned);
  assert.ok(m.moved <= ideal * 1.2 && m.moved >= ideal / 1.2, `moved ${m.moved}, ideal ${ideal.toFixed(0)}`);
});

test('ring-hash: the endpoints\' input order does not matter', () => {
  assertOrderFree(RING, weighted([1, 3, 2, 5, 1, 1, 2]), KEYS);
});

test('ring-hash: keys belong to names: new addresses move no key', () => {
  assertAddressFree(RING, TEN, KEYS);
});

test('ring-hash: weights are honoured (1:2:3:4 within 15%)', () => {
  // 400 nodes per unit of weight leave an arc-length spread of about 5% (1 / sqrt(400)) for a
  // weight-1 endpoint: 15% is three of those, over 20k keys.
  const weights = [1, 2, 3, 4];
  const s = shares(RING, weighted(weights), KEYS);
  weights.forEach((w, i) => {
    const share = s.get(`svc-${i}`)!;
    assert.ok(Math.abs(share - w / 10) / (w / 10) < 0.15, `svc-${i}: ${share}, want ${w / 10}`);
  });
});

test('ring-hash: nodes in proportion to weight, and the ring is sorted', () => {
  const t = new RingHash(0, 8_388_608).build(createEndpointSet(weighted([1, 2, 5])));
  assert.deepEqual(t.nodeCounts, [NODES_PER_WEIGHT, 2 * NODES_PER_WEIGHT, 5 * NODES_PER_WEIGHT]);
  assert.equal(t.positions.length, 8 * NODES_PER_WEIGHT);
  for (let i = 1; i < t.positions.length; i++) assert.ok(t.positions[i - 1]! <= t.positions[i]!);
  // 8 bytes a node, plus a bucket index of at most two entries a node.
  assert.ok(t.bytes > 8 * 8 * NODES_PER_WEIGHT && t.bytes <= 8 * 8 * NODES_PER_WEIGHT + 4 * (2 * t.positions.length + 2), `bytes ${t.bytes}`);
  // The minimum raises and the maximum caps the ring, never below one node per endpoint.
  assert.equal(new RingHash(4_000, 8_388_608).build(createEndpointSet(specs(2))).positions.length, 4_000);
  assert.deepEqual(new RingHash(0, 3).build(createEndpointSet(specs(5))).nodeCounts, [1, 1, 1, 1, 1]);
});

test('ring-hash: a key belongs to the first node at or after its hash, wrapping around', () => {
  const t = new RingHash(0, 8_388_608).build(createEndpointSet(specs(3)));
  for (const k of KEYS.slice(0, 2_000)) {
    let at = t.positions.findIndex((p) => p >= k.hi);
    if (at < 0) at = 0;
    assert.equal(t.first(k), t.owners[at]);
  }
  // The preference order continues clockwise over distinct and repeated nodes, then runs dry.
  const k = hashKey('walk');
  const first = t.first(k);
  let at = t.positions.findIndex((p) => p >= k.hi);
  if (at < 0) at = 0;
  assert.equal(first, t.owners[at]);
  for (let step = 1; step < t.owners.length; step++) assert.equal(t.next(), t.owners[(at + step) % t.owners.length]);
  assert.equal(t.next(), -1);
});

test('ring-hash: ring sizes are validated, naming the field', () => {
  const bad = (min: number, max: number, field: string): void => {
    assert.throws(() => new RingHash(min, max), (e: unknown) => e instanceof ConfigError && e.field === field && e.code === 'SG_ERR_BALANCER');
  };
  bad(2_000, 1_000, 'balancer.minRingSize');
  bad(-1, 1_000, 'balancer.minRingSize');
  bad(1.5, 1_000, 'balancer.minRingSize');
  bad(0, 8_388_609, 'balancer.maxRingSize');
  bad(0, Number.NaN, 'balancer.maxRingSize');
  assert.throws(() => new RingHash(2_000, 1_000), /\(2000\) is above balancer\.maxRingSize \(1000\)/);
});
