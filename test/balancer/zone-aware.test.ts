import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { Pick } from '../../src/balancer/balancer.js';
import type { EndpointSpec } from '../../src/balancer/endpoint.js';
import type { BalancerConfig, KeylessConfig } from '../../src/balancer/factory.js';
import { defaultBalancerConfig, KEYLESS_ALGORITHMS } from '../../src/balancer/factory.js';
import { hashKey } from '../../src/balancer/hash.js';
import type { HashingBalancer } from '../../src/balancer/hashing-balancer.js';
import type { ZoneAwareBalancer } from '../../src/balancer/zone-aware.js';
import { validateZoneMinEndpoints } from '../../src/balancer/zone-aware.js';
import { ConfigError } from '../../src/errors.js';
import { assertIdle, contract, countOf, expectOk, harness, makeKeys, pickNames, setOf } from './helpers.js';

/** `pod-0` .. `pod-(n-1)`, zones a, b, c in turn (pod-0, pod-3, ... in a). */
function zoned(n: number, zones: readonly (string | null)[] = ['a', 'b', 'c']): EndpointSpec[] {
  return Array.from({ length: n }, (_, i) => ({ name: `pod-${i}`, address: `10.0.0.${i}:80`, zone: zones[i % zones.length] ?? null }));
}

const ZONE_A = { zone: 'a', minEndpoints: 1 };

function keylessConfig(algorithm: (typeof KEYLESS_ALGORITHMS)[number]): KeylessConfig {
  return defaultBalancerConfig(algorithm) as KeylessConfig;
}

/** The zone of each picked name. */
function zonesOf(names: readonly string[], list: readonly EndpointSpec[]): string[] {
  const zone = new Map(list.map((e) => [e.name, e.zone ?? '-']));
  return names.map((n) => zone.get(n)!);
}

for (const algorithm of KEYLESS_ALGORITHMS) {
  contract({ label: `${algorithm} in zone a`, config: keylessConfig(algorithm), endpoints: zoned(9), allDraining: 'all-unavailable', allExcluded: 'all-unavailable', keys: null, zone: ZONE_A });
  contract({ label: `${algorithm} in zone a, shared counts`, config: keylessConfig(algorithm), endpoints: zoned(9), allDraining: 'all-unavailable', allExcluded: 'all-unavailable', keys: null, zone: ZONE_A, shared: true });
}
contract({ label: 'ring-hash, keyless fallback in zone a', config: { ...defaultBalancerConfig('ring-hash'), keyless: { algorithm: 'least-request' } } as BalancerConfig, endpoints: zoned(9), allDraining: 'all-unavailable', allExcluded: 'all-unavailable', keys: makeKeys(300), zone: ZONE_A });

test('zone-aware: with its zone whole, every keyless pick stays in it, for every keyless algorithm', () => {
  for (const algorithm of KEYLESS_ALGORITHMS) {
    const list = zoned(9);
    const h = harness(keylessConfig(algorithm), list, 7, {}, ZONE_A);
    const names = pickNames(h.balancer, 300);
    assert.deepEqual(new Set(zonesOf(names, list)), new Set(['a']), algorithm);
    // And it spreads over the zone, not onto one pod.
    for (const pod of ['pod-0', 'pod-3', 'pod-6']) assert.ok(countOf(names, pod) > 50, `${algorithm}: ${pod} got ${countOf(names, pod)}`);
    assertIdle(h.board, algorithm);
  }
});

test('zone-aware: one of three own-zone pods out, a third of requests leaves the zone, spread over the others by weight', () => {
  for (const reason of ['ejected', 'failed-check', 'draining'] as const) {
    const list = zoned(9).map((e) => ({ ...e, draining: reason === 'draining' && e.name === 'pod-3' }));
    const h = harness({ algorithm: 'round-robin' }, list, 11, {}, ZONE_A);
    if (reason !== 'draining') h.board.setDown('pod-3', reason, true);
    const names = pickNames(h.balancer, 30_000);
    const zones = zonesOf(names, list);
    const local = countOf(zones, 'a') / names.length;
    assert.ok(Math.abs(local - 2 / 3) < 0.01, `${reason}: ${(local * 100).toFixed(1)}% stayed in zone a, expected 66.7%`);
    assert.equal(countOf(names, 'pod-3'), 0, `${reason}: the unavailable pod gets nothing`);
    // The two left in zone a keep the share each had with three: a third each.
    for (const pod of ['pod-0', 'pod-6']) assert.ok(Math.abs(countOf(names, pod) / names.length - 1 / 3) < 0.01, `${reason}: ${pod}`);
    // The spilled third goes to zones b and c, equally by weight.
    for (const z of ['b', 'c']) assert.ok(Math.abs(countOf(zones, z) / names.length - 1 / 6) < 0.01, `${reason}: zone ${z}`);
    assertIdle(h.board, reason);
  }
});

test('zone-aware: spill follows weight within the own zone, not endpoint count', () => {
  const list: EndpointSpec[] = [
    { name: 'a-big', address: '10.0.0.1:80', zone: 'a', weight: 3 },
    { name: 'a-small', address: '10.0.0.2:80', zone: 'a', weight: 1 },
    { name: 'b-0', address: '10.0.0.3:80', zone: 'b' },
  ];
  const h = harness({ algorithm: 'random' }, list, 5, {}, ZONE_A);
  h.board.setDown('a-big', 'ejected', true);
  const names = pickNames(h.balancer, 20_000);
  // Available own-zone weight 1 of 4: a quarter stays.
  assert.ok(Math.abs(countOf(names, 'a-small') / names.length - 0.25) < 0.015, `a-small took ${countOf(names, 'a-small')}`);
  assert.equal(countOf(names, 'a-big'), 0);
});

test('zone-aware: the whole own zone out, everything goes to the other zones; back, everything returns', () => {
  const list = zoned(6);
  const h = harness({ algorithm: 'p2c' }, list, 3, {}, ZONE_A);
  for (const pod of ['pod-0', 'pod-3']) h.board.setDown(pod, 'ejected', true);
  assert.equal(countOf(zonesOf(pickNames(h.balancer, 500), list), 'a'), 0);
  for (const pod of ['pod-0', 'pod-3']) h.board.setDown(pod, 'ejected', false);
  assert.deepEqual(new Set(zonesOf(pickNames(h.balancer, 500), list)), new Set(['a']));
});

test('zone-aware: an own zone at its in-flight limit spills to other zones rather than answering saturated', () => {
  const list = zoned(6);
  const h = harness({ algorithm: 'least-request' }, list, 3, { maxInflight: 2 }, ZONE_A);
  const held: Pick[] = [];
  for (let i = 0; i < 4; i++) held.push(expectOk(h.balancer.pick(null, null)));
  assert.deepEqual(new Set(held.map((p) => p.endpoint.zone)), new Set(['a']), 'the zone first');
  for (let i = 0; i < 8; i++) held.push(expectOk(h.balancer.pick(null, null), `pick ${i} past the zone's room`));
  assert.equal(held.filter((p) => p.endpoint.zone !== 'a').length, 8);
  // Room in the zone again: the next pick goes home.
  held.shift()!.done(h.clock.nowMs(), 'ok');
  const home = expectOk(h.balancer.pick(null, null));
  assert.equal(home.endpoint.zone, 'a');
  held.push(home);
  assert.equal(h.balancer.pick(null, null).kind, 'none', 'every endpoint full: saturated');
  for (const p of held) p.done(h.clock.nowMs(), 'ok');
  assertIdle(h.board, 'least-request');
  const zoneAware = h.balancer as ZoneAwareBalancer;
  assert.ok(zoneAware.stats.local >= 5 && zoneAware.stats.fallbacks >= 8, JSON.stringify(zoneAware.stats));
});

test('zone-aware: a retry that excludes the own zone goes to another zone', () => {
  const list = zoned(6);
  const h = harness({ algorithm: 'round-robin' }, list, 3, {}, ZONE_A);
  const set = h.board.set;
  const exclude = new Set([set.byName.get('pod-0')!, set.byName.get('pod-3')!]);
  for (let i = 0; i < 20; i++) {
    const p = expectOk(h.balancer.pick(null, exclude));
    assert.notEqual(p.endpoint.zone, 'a');
    p.done(0, 'ok');
  }
});

test('zone-aware: in-flight counts are one per endpoint, whichever zone balancer picked', () => {
  const list = zoned(6);
  const h = harness({ algorithm: 'p2c' }, list, 3, {}, ZONE_A);
  h.board.setDown('pod-0', 'ejected', true);
  const held: Pick[] = [];
  for (let i = 0; i < 200; i++) held.push(expectOk(h.balancer.pick(null, null)));
  assert.equal(h.board.totalInflight, 200);
  assert.equal(h.board.loads.reduce((a, l) => a + l.inflight, 0), 200);
  for (const p of held) p.done(h.clock.nowMs(), 'ok');
  assertIdle(h.board, 'p2c');
});

/** Picks as names, for comparing two balancers' exact sequences. */
function sequence(config: BalancerConfig, list: readonly EndpointSpec[], zone: typeof ZONE_A | null, count: number): string[] {
  const h = harness(config, list, 9, {}, zone);
  h.board.setDown(list[1]!.name, 'ejected', true);
  const names: string[] = [];
  const held: Pick[] = [];
  for (let i = 0; i < count; i++) {
    const p = expectOk(h.balancer.pick(null, null));
    names.push(p.endpoint.name);
    // Some requests stay in flight, so that load-aware algorithms see changing counts.
    if (i % 3 === 0) held.push(p);
    else p.done(h.clock.nowMs(), 'ok');
  }
  for (const p of held) p.done(h.clock.nowMs(), 'ok');
  return names;
}

test('zone-aware: no preference, bit for bit, without zones on endpoints, with no endpoint in the own zone, every endpoint in it, or fewer than the minimum', () => {
  for (const algorithm of KEYLESS_ALGORITHMS) {
    const config = keylessConfig(algorithm);
    const cases: [string, EndpointSpec[], typeof ZONE_A][] = [
      ['endpoints without zones', zoned(6, [null]), ZONE_A],
      ['no endpoint in zone a', zoned(6, ['b', 'c']), ZONE_A],
      ['every endpoint in zone a', zoned(6, ['a']), ZONE_A],
      ['2 in zone a, minimum 3', zoned(6), { zone: 'a', minEndpoints: 3 }],
    ];
    for (const [what, list, zone] of cases) {
      assert.deepEqual(sequence(config, list, zone, 400), sequence(config, list, null, 400), `${algorithm}: ${what}`);
    }
  }
});

test('zone-aware: the preference turns on and off as endpoint sets change, and lets go of views when off', () => {
  const h = harness({ algorithm: 'least-request' }, zoned(6, ['b']), 3, {}, ZONE_A);
  const zoneAware = h.balancer as ZoneAwareBalancer;
  assert.equal(zoneAware.active, false);
  assert.equal(h.board.viewCount, 0);
  h.balancer.update(setOf(zoned(6), 2));
  assert.equal(zoneAware.active, true);
  assert.equal(h.board.viewCount, 2, 'own zone and the others');
  assert.deepEqual(new Set(pickNames(h.balancer, 50).map((n) => n)), new Set(['pod-0', 'pod-3']));
  h.balancer.update(setOf(zoned(6, ['b']), 3));
  assert.equal(zoneAware.active, false);
  assert.equal(h.board.viewCount, 0);
  assert.equal(h.board.loads[0]!.links.length, 0, 'no watcher link left on a load');
});

test('zone-aware: the minimum is checked and named', () => {
  for (const bad of [0, -1, 1.5, 10_001, Number.NaN]) {
    assert.throws(() => validateZoneMinEndpoints(bad, 'zoneMinEndpoints'), (e: unknown) => e instanceof ConfigError && e.field === 'zoneMinEndpoints' && /integer from 1/.test(e.message), String(bad));
  }
  assert.throws(() => harness({ algorithm: 'p2c' }, zoned(3), 1, {}, { zone: '', minEndpoints: 1 }), (e: unknown) => e instanceof ConfigError && e.field === 'zone');
});

const HASHING: readonly BalancerConfig[] = [
  defaultBalancerConfig('ring-hash'),
  defaultBalancerConfig('maglev'),
  defaultBalancerConfig('rendezvous'),
  defaultBalancerConfig('jump'),
  { ...defaultBalancerConfig('ordinal'), replicas: 9 } as BalancerConfig,
  { ...defaultBalancerConfig('ordinal'), replicas: 9, onMissing: 'next' } as BalancerConfig,
  { ...defaultBalancerConfig('ring-hash', 1.25) },
  {
    ...defaultBalancerConfig('ranges'),
    onMissing: 'next',
    ranges: Array.from({ length: 9 }, (_, i) => ({ from: i * 100, to: i * 100 + 99, endpoint: `pod-${i}` })),
  } as BalancerConfig,
  { ...defaultBalancerConfig('lookup'), default: 'maglev', entries: [{ prefix: '1', endpoint: 'pod-4' }, { key: '42', endpoint: 'pod-0' }] } as BalancerConfig,
];

test('zone-aware: keyed requests have the same owner whatever the caller\'s zone, for every hashing algorithm and ordinal', () => {
  const list = zoned(9);
  fc.assert(
    fc.property(
      fc.constantFrom(...HASHING),
      fc.constantFrom('a', 'b', 'c', 'elsewhere'),
      fc.array(fc.nat({ max: 899 }), { minLength: 1, maxLength: 40 }),
      fc.array(fc.boolean(), { minLength: 9, maxLength: 9 }),
      (config, zone, keys, down) => {
        // Two proxies in different zones, and one with no zone, seeing the same pods out.
        const proxies = [harness(config, list, 1, {}, ZONE_A), harness(config, list, 2, {}, { zone, minEndpoints: 1 }), harness(config, list, 3)];
        for (const p of proxies) down.forEach((d, i) => d && p.board.setDown(`pod-${i}`, 'ejected', true));
        for (const k of keys) {
          const key = hashKey(String(k));
          const picks = proxies.map((p) => p.balancer.pick(key, null));
          const names = picks.map((r) => (r.kind === 'ok' ? r.endpoint.name : r.reason));
          assert.equal(names[0], names[1], `${config.algorithm}: key ${k} from zone a and zone ${zone}`);
          assert.equal(names[0], names[2], `${config.algorithm}: key ${k} with and without a zone`);
          const owners = proxies.map((p) => (p.balancer as HashingBalancer).owner(key)?.name);
          assert.equal(owners[0], owners[1]);
          for (const r of picks) if (r.kind === 'ok') r.done(0, 'ok');
        }
      },
    ),
    { seed: 4_242, numRuns: 150 },
  );
});
