import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { createEndpointSet } from '../../src/balancer/endpoint.js';
import type { EndpointSpec } from '../../src/balancer/endpoint.js';
import type { KeyedConfig, OnMissing } from '../../src/balancer/factory.js';
import { DEFAULT_KEYLESS } from '../../src/balancer/factory.js';
import { hash64, hashKey } from '../../src/balancer/hash.js';
import { MAX_REPLICAS, Ordinal, parseOrdinal } from '../../src/balancer/ordinal.js';
import { ConfigError } from '../../src/errors.js';
import { assertAddressFree, assertOrderFree, contract, countMoved, excluding, expectNone, expectOk, harness, keyed, makeKeys, ownersOf, specs } from './helpers.js';

function ordinal(onMissing: OnMissing = 'fail', replicas: number | null = null): KeyedConfig {
  return { algorithm: 'ordinal', loadFactor: null, keyless: DEFAULT_KEYLESS, replicas, onMissing };
}

const KEYS = makeKeys(20_000);
/** Mixed keys: half decimal, half not. */
const MIXED = [...KEYS.slice(0, 10_000), ...Array.from({ length: 10_000 }, (_, i) => hashKey(String(i * 7919 + 13)))];
const pods = (n: number): EndpointSpec[] => specs(n, 'sharded-svc');

contract({ label: 'ordinal (fail)', config: ordinal('fail'), endpoints: pods(6), allDraining: 'owner-missing', allExcluded: 'owner-missing', keys: MIXED.slice(9_700, 10_300) });
contract({ label: 'ordinal (next)', config: ordinal('next'), endpoints: pods(6), allDraining: 'all-unavailable', allExcluded: 'all-unavailable', keys: MIXED.slice(9_700, 10_300) });

test('ordinal: a decimal key is its own number mod N (12345 over pods -0..-3 is ordinal 1)', () => {
  const h = harness(ordinal(), pods(4));
  const p = expectOk(h.balancer.pick(hashKey('12345'), null));
  assert.equal(p.endpoint.name, 'sharded-svc-1');
  p.done(0, 'ok');
  const b = keyed(ordinal(), pods(4));
  for (let k = 0; k < 50; k++) assert.equal(b.owner(hashKey(String(k)))!.name, `sharded-svc-${k % 4}`);
  assert.equal(b.owner(hashKey('0007'))!.name, 'sharded-svc-3');
});

test('ordinal: long decimal keys (beyond 2^53) are reduced mod N digit by digit, as BigInt does', () => {
  const set = createEndpointSet(pods(7));
  const t = new Ordinal(null, 'fail').build(set);
  fc.assert(
    fc.property(fc.string({ unit: fc.constantFrom('0', '1', '2', '3', '4', '5', '6', '7', '8', '9'), minLength: 1, maxLength: 30, size: 'max' }), (digits) => {
      assert.equal(t.ordinalOf(hashKey(digits)), Number(BigInt(digits) % 7n), digits);
    }),
    { seed: 12, numRuns: 2_000 },
  );
  assert.equal(t.ordinalOf(hashKey('12345678901234567890')), Number(12345678901234567890n % 7n));
  const big = new Ordinal(999_983, 'fail').build(set);
  assert.equal(big.ordinalOf(hashKey('98765432109876543210987')), Number(98765432109876543210987n % 999_983n));
});

test('ordinal: any other key is its xxHash64 mod N', () => {
  const t = new Ordinal(null, 'fail').build(createEndpointSet(pods(5)));
  for (const text of ['', 'user-1', 'abc', '12a', '-5', '1.0', 'ключ', ' 7']) {
    assert.equal(t.ordinalOf(hashKey(text)), Number(hash64(text) % 5n), JSON.stringify(text));
  }
  for (const k of KEYS.slice(0, 1_000)) assert.equal(t.ordinalOf(k), Number(hash64(k.text) % 5n));
});

test('ordinal: N is the highest ordinal + 1, or the configured replicas', () => {
  const gap = [...pods(2), { name: 'sharded-svc-3', address: '10.0.0.3:80' }];
  const fail = keyed(ordinal('fail'), gap);
  assert.equal(fail.owner(hashKey('7'))!.name, 'sharded-svc-3', '7 mod 4 = 3');
  assert.equal(fail.owner(hashKey('2')), null, 'ordinal 2 is missing');
  const hf = harness(ordinal('fail'), gap);
  expectNone(hf.balancer.pick(hashKey('2'), null), 'owner-missing');
  expectNone(hf.balancer.pick(hashKey('6'), null), 'owner-missing');
  const hn = harness(ordinal('next'), gap);
  const p = expectOk(hn.balancer.pick(hashKey('6'), null));
  assert.equal(p.endpoint.name, 'sharded-svc-3', 'the next present ordinal');
  p.done(0, 'ok');
  // replicas = 6 with pods 0..3: ordinals 4 and 5 are missing.
  const six = keyed(ordinal('fail', 6), pods(4));
  assert.equal(six.owner(hashKey('9'))!.name, 'sharded-svc-3');
  assert.equal(six.owner(hashKey('5')), null);
  const sixNext = keyed(ordinal('next', 6), pods(4));
  assert.equal(sixNext.owner(hashKey('4'))!.name, 'sharded-svc-0', 'wraps around');
  assert.equal(sixNext.owner(hashKey('11'))!.name, 'sharded-svc-0');
});

test('ordinal: one pod down does not remap any other key', () => {
  const all = pods(8);
  const without = all.filter((e) => e.name !== 'sharded-svc-2');
  for (const onMissing of ['fail', 'next'] as const) {
    const before = ownersOf(keyed(ordinal(onMissing), all), MIXED);
    const after = ownersOf(keyed(ordinal(onMissing), without), MIXED);
    for (let i = 0; i < MIXED.length; i++) {
      if (before[i] === 'sharded-svc-2') assert.equal(after[i], onMissing === 'fail' ? null : 'sharded-svc-3');
      else assert.equal(after[i], before[i], `${onMissing}: key ${MIXED[i]!.text}`);
    }
  }
  // The same for a draining pod, on a live balancer.
  const h = harness(ordinal('fail'), all.map((e) => ({ ...e, draining: e.name === 'sharded-svc-2' })));
  expectNone(h.balancer.pick(hashKey('10'), null), 'owner-missing');
  const q = expectOk(h.balancer.pick(hashKey('11'), null));
  assert.equal(q.endpoint.name, 'sharded-svc-3');
  q.done(0, 'ok');
  const hn = harness(ordinal('next'), all.map((e) => ({ ...e, draining: e.name === 'sharded-svc-2' })));
  const r = expectOk(hn.balancer.pick(hashKey('10'), null));
  assert.equal(r.endpoint.name, 'sharded-svc-3');
  r.done(0, 'ok');
});

test('ordinal: with replicas configured, even the highest pod going down remaps nothing else', () => {
  const all = pods(8);
  const before = ownersOf(keyed(ordinal('fail', 8), all), MIXED);
  const after = ownersOf(keyed(ordinal('fail', 8), all.slice(0, 7)), MIXED);
  for (let i = 0; i < MIXED.length; i++) if (before[i] !== 'sharded-svc-7') assert.equal(after[i], before[i]);
  // Without replicas N shrinks to 7 and most keys move: why `replicas` should be set.
  const inferred = countMoved(ownersOf(keyed(ordinal('fail'), all), MIXED), ownersOf(keyed(ordinal('fail'), all.slice(0, 7)), MIXED));
  assert.ok(inferred > MIXED.length / 2, `moved ${inferred}`);
});

test('ordinal: names without an ordinal, out of range or repeated are ignored', () => {
  const list: EndpointSpec[] = [
    ...pods(3),
    { name: 'sharded-svc', address: 'x:1' },
    { name: 'sharded-svc-a', address: 'x:1' },
    { name: 'sharded-svc-1a', address: 'x:1' },
    { name: 'sharded-svc-', address: 'x:1' },
    { name: 'sharded-svc-1234567890', address: 'x:1' },
    { name: 'stray-999999999', address: 'x:1' },
    { name: 'zz-other-1', address: 'x:1' },
  ];
  const t = new Ordinal(null, 'fail').build(createEndpointSet(list));
  assert.equal(t.slots.length, 3, 'a stray huge ordinal does not size the table');
  assert.deepEqual([...t.ignored].sort(), ['sharded-svc', 'sharded-svc-', 'sharded-svc-1234567890', 'sharded-svc-1a', 'sharded-svc-a', 'stray-999999999', 'zz-other-1']);
  const b = keyed(ordinal(), list);
  for (let k = 0; k < 30; k++) assert.equal(b.owner(hashKey(String(k)))!.name, `sharded-svc-${k % 3}`);
  // With replicas, ordinals at or above it are ignored too.
  const t2 = new Ordinal(2, 'fail').build(createEndpointSet(pods(3)));
  assert.deepEqual(t2.ignored, ['sharded-svc-2']);
  // Only ordinal-less names: nothing to route to.
  const h = harness(ordinal(), [{ name: 'web', address: 'x:1' }]);
  expectNone(h.balancer.pick(hashKey('1'), null), 'empty');
});

test('ordinal: natural numbers, svc-10 is ordinal 10', () => {
  assert.equal(parseOrdinal('svc-10'), 10);
  assert.equal(parseOrdinal('my-db-shard-007'), 7);
  assert.equal(parseOrdinal('svc'), -1);
  assert.equal(parseOrdinal('svc-1a'), -1);
  assert.equal(parseOrdinal(`svc-${MAX_REPLICAS}`), MAX_REPLICAS);
  const b = keyed(ordinal(), pods(12));
  assert.equal(b.owner(hashKey('10'))!.name, 'sharded-svc-10');
  assert.equal(b.owner(hashKey('22'))!.name, 'sharded-svc-10');
  assert.equal(b.owner(hashKey('11'))!.name, 'sharded-svc-11');
  assert.equal(b.owner(hashKey('2'))!.name, 'sharded-svc-2');
});

test('ordinal: the first name holding an ordinal keeps it', () => {
  const b = keyed(ordinal(), [{ name: 'b-1', address: 'x:1' }, { name: 'a-1', address: 'x:2' }, { name: 'a-0', address: 'x:3' }]);
  assert.equal(b.owner(hashKey('1'))!.name, 'a-1');
});

test('ordinal: exclusion of the owner (a retry) follows onMissing', () => {
  const h = harness(ordinal('fail'), pods(4));
  expectNone(h.balancer.pick(hashKey('1'), excluding(h.board.set, ['sharded-svc-1'])), 'owner-missing');
  const hn = harness(ordinal('next'), pods(4));
  const p = expectOk(hn.balancer.pick(hashKey('1'), excluding(hn.board.set, ['sharded-svc-1'])));
  assert.equal(p.endpoint.name, 'sharded-svc-2');
  p.done(0, 'ok');
});

test('ordinal: input order and addresses do not matter', () => {
  assertOrderFree(ordinal(), pods(12), MIXED);
  assertAddressFree(ordinal('next'), pods(12), MIXED);
});

test('ordinal: replicas are validated, naming the field', () => {
  for (const r of [0, -1, 1.5, MAX_REPLICAS + 1, Number.NaN]) {
    assert.throws(() => new Ordinal(r, 'fail'), (e: unknown) => e instanceof ConfigError && e.field === 'balancer.replicas', String(r));
  }
  assert.equal(new Ordinal(MAX_REPLICAS, 'next').replicas, MAX_REPLICAS);
});
