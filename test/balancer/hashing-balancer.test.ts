import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Pick } from '../../src/balancer/balancer.js';
import { ManualClock } from '../../src/balancer/clock.js';
import type { KeyedConfig } from '../../src/balancer/factory.js';
import { DEFAULT_KEYLESS, defaultBalancerConfig } from '../../src/balancer/factory.js';
import { hashKey } from '../../src/balancer/hash.js';
import { HashingBalancer } from '../../src/balancer/hashing-balancer.js';
import { JumpHash } from '../../src/balancer/jump.js';
import { LoadBoard } from '../../src/balancer/load-board.js';
import { Maglev } from '../../src/balancer/maglev.js';
import { Rendezvous } from '../../src/balancer/rendezvous.js';
import { RingHash } from '../../src/balancer/ring-hash.js';
import { RoundRobinBalancer } from '../../src/balancer/round-robin.js';
import { ConfigError } from '../../src/errors.js';
import { asHashing, assertIdle, excluding, expectNone, expectOk, harness, makeKeys, pickNames, setOf, specs, weighted } from './helpers.js';

const KEYS = makeKeys(300, 4);
const BUILDERS = [new RingHash(0, 8_388_608), new Maglev(65_537), new Rendezvous(), new JumpHash()];

test('hashing: a request without a key goes to the keyless algorithm', () => {
  const h = harness({ ...(defaultBalancerConfig('ring-hash') as KeyedConfig), keyless: { algorithm: 'round-robin' } }, specs(3));
  const names = pickNames(h.balancer, 9);
  // Round robin from a random offset: each endpoint exactly three times, in rotation.
  assert.deepEqual([...names].sort(), ['svc-0', 'svc-0', 'svc-0', 'svc-1', 'svc-1', 'svc-1', 'svc-2', 'svc-2', 'svc-2']);
  assert.deepEqual(names.slice(3), [...names.slice(0, 3), ...names.slice(0, 3)]);
  // It shares the board: its picks count, their done uncounts them.
  const p = expectOk(h.balancer.pick(null, null));
  assert.equal(h.board.totalInflight, 1);
  p.done(0, 'ok');
  assertIdle(h.board, 'keyless');
  // And it honours exclusions and availability.
  const ex = excluding(h.board.set, ['svc-0', 'svc-1']);
  for (let i = 0; i < 5; i++) {
    const q = expectOk(h.balancer.pick(null, ex));
    assert.equal(q.endpoint.name, 'svc-2');
    q.done(0, 'ok');
  }
  expectNone(h.balancer.pick(null, new Set(h.board.set.endpoints)), 'all-unavailable');
});

test('hashing: without a keyless algorithm, a request without a key gets no-key', () => {
  const board = new LoadBoard(new ManualClock());
  const b = new HashingBalancer(new Rendezvous(), board);
  expectNone(b.pick(null, null), 'no-key');
  b.update(setOf(specs(3)));
  expectNone(b.pick(null, null), 'no-key');
  assert.equal(b.keyed, true);
  assert.equal(b.algorithm, 'rendezvous');
  assert.equal(b.loadFactor, null);
  // With one, an empty set still says empty.
  const withKeyless = new HashingBalancer(new Rendezvous(), board, { keyless: new RoundRobinBalancer(board) });
  withKeyless.update(setOf([]));
  expectNone(withKeyless.pick(null, null), 'empty');
  expectNone(withKeyless.pick(hashKey('k'), null), 'empty');
});

test('hashing: owner and preference before any set', () => {
  const b = new HashingBalancer(new RingHash(0, 100), new LoadBoard(new ManualClock()));
  assert.equal(b.owner(hashKey('k')), null);
  assert.deepEqual(b.preference(hashKey('k'), 3), []);
});

test('hashing: preference is every endpoint once, owner first, for every core', () => {
  for (const builder of BUILDERS) {
    const b = new HashingBalancer(builder, new LoadBoard(new ManualClock()));
    b.update(setOf(specs(40)));
    for (const k of KEYS.slice(0, 60)) {
      const all = b.preference(k, 40).map((e) => e.name);
      assert.equal(new Set(all).size, 40, `${builder.algorithm}: a permutation`);
      assert.equal(all[0], b.owner(k)!.name);
      assert.deepEqual(b.preference(k, 5).map((e) => e.name), all.slice(0, 5), 'prefixes agree');
    }
  }
});

test('hashing: an excluded or draining owner falls through to the key\'s next preferences', () => {
  for (const builder of BUILDERS) {
    const board = new LoadBoard(new ManualClock());
    const b = new HashingBalancer(builder, board);
    const set = setOf(weighted([1, 2, 1, 3, 1, 2]));
    b.update(set);
    for (const k of KEYS) {
      const pref = b.preference(k, 6);
      const one = expectOk(b.pick(k, new Set([pref[0]!])));
      assert.equal(one.endpoint, pref[1], `${builder.algorithm}: the second choice`);
      one.done(0, 'ok');
      const two = expectOk(b.pick(k, new Set([pref[0]!, pref[1]!])));
      assert.equal(two.endpoint, pref[2], `${builder.algorithm}: the third choice`);
      two.done(0, 'ok');
    }
    assert.deepEqual(b.stats, { spills: 0, fallthroughs: 2 * KEYS.length });
    // Draining, through a new set: the same walk.
    const k = KEYS[0]!;
    const pref = b.preference(k, 6);
    b.update(setOf(weighted([1, 2, 1, 3, 1, 2]).map((e) => ({ ...e, draining: e.name === pref[0]!.name })), 2));
    const p = expectOk(b.pick(k, null));
    assert.equal(p.endpoint.name, pref[1]!.name);
    p.done(0, 'ok');
    assertIdle(board, builder.algorithm);
  }
});

test('hashing: when every candidate is at its bound or excluded, the least loaded usable one serves', () => {
  const h = harness(defaultBalancerConfig('rendezvous', 1.25), specs(3));
  const b = asHashing(h.balancer);
  const set = h.board.set;
  const held: Pick[] = [];
  // Load svc-2 well past any bound, then exclude the other two: serving beats refusing.
  for (let i = 0; i < 10; i++) held.push(h.board.begin(2));
  const ex = excluding(set, ['svc-0', 'svc-1']);
  for (const k of KEYS.slice(0, 20)) {
    const p = expectOk(b.pick(k, ex));
    assert.equal(p.endpoint.name, 'svc-2');
    held.push(p);
  }
  expectNone(b.pick(KEYS[0]!, new Set(set.endpoints)), 'all-unavailable');
  for (const p of held) p.done(0, 'ok');
  assertIdle(h.board, 'rendezvous');
});

test('hashing: update is idempotent for the same set, and picks follow a new one', () => {
  const h = harness(defaultBalancerConfig('maglev'), specs(5));
  const b = asHashing(h.balancer);
  const set = h.board.set;
  const owners = KEYS.map((k) => b.owner(k));
  b.update(set);
  assert.deepEqual(KEYS.map((k) => b.owner(k)), owners);
  b.update(setOf(specs(5).slice(0, 1), 2));
  for (const k of KEYS.slice(0, 20)) assert.equal(b.owner(k)!.name, 'svc-0');
  b.update(setOf([], 3));
  expectNone(b.pick(KEYS[0]!, null), 'empty');
  assert.equal(b.owner(KEYS[0]!), null);
});

test('hashing: every instance built from the same config agrees on every owner', () => {
  for (const alg of ['ring-hash', 'maglev', 'rendezvous', 'jump', 'ordinal'] as const) {
    const a = asHashing(harness(defaultBalancerConfig(alg), specs(9), 1).balancer);
    const b = asHashing(harness(defaultBalancerConfig(alg), [...specs(9)].reverse(), 2).balancer);
    for (const k of KEYS) assert.equal(a.owner(k)!.name, b.owner(k)!.name, alg);
  }
});

test('hashing: the bounded-load factor is validated', () => {
  const board = new LoadBoard(new ManualClock());
  for (const c of [1, 0.9, 0, -1, Number.NaN, 1_000]) {
    assert.throws(() => new HashingBalancer(new Rendezvous(), board, { loadFactor: c }), (e: unknown) => e instanceof ConfigError && e.field === 'balancer.loadFactor', String(c));
  }
  assert.equal(new HashingBalancer(new Rendezvous(), board, { loadFactor: 1.25 }).loadFactor, 1.25);
  assert.equal(new HashingBalancer(new Rendezvous(), board, { loadFactor: null }).loadFactor, null);
});

test('hashing: a full owner counts as a spill, an ejected one as a fallthrough; a strict owner refuses only when out', () => {
  const config = { algorithm: 'ordinal', loadFactor: null, keyless: DEFAULT_KEYLESS, replicas: 3, onMissing: 'fail' } as const;
  const h = harness(config, specs(3, 'pod'), 7, { maxInflight: 1 });
  const b = asHashing(h.balancer);
  const key = hashKey('4');
  assert.equal(b.owner(key)!.name, 'pod-1');
  const held = [expectOk(b.pick(key, null))];
  const spilled = expectOk(b.pick(key, null));
  assert.equal(spilled.endpoint.name, 'pod-2', 'the next ordinal takes the overflow');
  assert.deepEqual(b.stats, { spills: 1, fallthroughs: 0 });
  held.push(spilled);
  for (const p of held) p.done(0, 'ok');
  h.board.setDown('pod-1', 'ejected', true);
  expectNone(b.pick(key, null), 'owner-missing');
  assert.deepEqual(b.stats, { spills: 1, fallthroughs: 0 }, 'a refusal walks nowhere');
  h.board.setDown('pod-1', 'ejected', false);
  const home = expectOk(b.pick(key, null));
  assert.equal(home.endpoint.name, 'pod-1');
  home.done(0, 'ok');
  assertIdle(h.board, 'ordinal');
});

test('hashing: home is what a pick chooses with nothing in flight, draining owners skipped, for every keyed algorithm; asking claims nothing', () => {
  const list = specs(6).map((s, i) => ({ ...s, name: `svc-${i}`, draining: i === 2 || i === 4 }));
  const ranged = { from: 0, to: 999 };
  const configs: KeyedConfig[] = [
    defaultBalancerConfig('ring-hash') as KeyedConfig,
    defaultBalancerConfig('maglev') as KeyedConfig,
    defaultBalancerConfig('rendezvous') as KeyedConfig,
    defaultBalancerConfig('jump') as KeyedConfig,
    { ...(defaultBalancerConfig('ordinal') as KeyedConfig & { algorithm: 'ordinal' }), replicas: 8 },
    { ...(defaultBalancerConfig('ordinal') as KeyedConfig & { algorithm: 'ordinal' }), onMissing: 'next' },
    { ...(defaultBalancerConfig('ranges') as KeyedConfig & { algorithm: 'ranges' }), ranges: [{ ...ranged, endpoint: 'svc-1' }, { from: 1000, to: 1999, endpoint: 'svc-2' }] },
    { ...(defaultBalancerConfig('ranges') as KeyedConfig & { algorithm: 'ranges' }), ranges: [{ ...ranged, endpoint: 'svc-2' }], onMissing: 'next' },
    { ...(defaultBalancerConfig('lookup') as KeyedConfig & { algorithm: 'lookup' }), entries: [{ key: '17', endpoint: 'svc-4' }, { prefix: '1', endpoint: 'svc-0' }], default: 'maglev' },
  ];
  const keys = [...KEYS, ...Array.from({ length: 200 }, (_, i) => hashKey(String(i * 13)))];
  for (const config of configs) {
    const h = harness(config, list);
    const b = asHashing(h.balancer);
    const picksBefore = h.board.loads.map((l) => l.picks);
    const homes = keys.map((k) => b.home(k));
    assert.deepEqual(h.board.loads.map((l) => l.picks), picksBefore, `${config.algorithm}: asking picked nothing`);
    assertIdle(h.board, config.algorithm);
    let found = 0;
    keys.forEach((k, i) => {
      const home = homes[i]!;
      const p = b.pick(k, null);
      if (p.kind === 'none') {
        assert.ok('kind' in home, `${config.algorithm} ${k.text}: no pick (${p.reason}), yet home ${'name' in home ? home.name : ''}`);
        assert.equal(home.reason, p.reason);
        return;
      }
      p.done(0, 'cancelled');
      assert.ok(!('kind' in home), `${config.algorithm} ${k.text}: picked ${p.endpoint.name}, yet home says ${'reason' in home ? home.reason : ''}`);
      assert.equal(home, p.endpoint, `${config.algorithm} ${k.text}`);
      assert.equal(home.draining, false);
      found++;
    });
    assert.ok(found > 0, `${config.algorithm}: some key has a home`);
  }
  const empty = new HashingBalancer(new RingHash(0, 100), new LoadBoard(new ManualClock()));
  assert.deepEqual(empty.home(hashKey('k')), { kind: 'none', reason: 'empty' });
});
