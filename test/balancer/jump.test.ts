import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { createEndpointSet } from '../../src/balancer/endpoint.js';
import type { KeyedConfig } from '../../src/balancer/factory.js';
import { defaultBalancerConfig } from '../../src/balancer/factory.js';
import { JumpHash, jumpHash, naturalCompare } from '../../src/balancer/jump.js';
import { seededRng } from '../../src/balancer/rng.js';
import { addition, assertAddressFree, assertOrderFree, contract, countOf, makeKeys, ownersOf, keyed, removal, shuffle, specs } from './helpers.js';

const JUMP = defaultBalancerConfig('jump') as KeyedConfig;
const KEYS = makeKeys(20_000);
/** svc-0 .. svc-10: in natural order svc-10 is last, in code-unit order it is third. */
const ELEVEN = specs(11);

/** Lamping and Veach's JumpConsistentHash, in 64-bit BigInt arithmetic as the paper's C++. */
function referenceJump(key: bigint, buckets: number): number {
  let k = key;
  let b = -1n;
  let j = 0n;
  while (j < BigInt(buckets)) {
    b = j;
    k = (k * 2862933555777941757n + 1n) & 0xffffffffffffffffn;
    j = BigInt(Math.floor(Number(b + 1n) * (Number(1n << 31n) / Number((k >> 33n) + 1n))));
  }
  return Number(b);
}

contract({ label: 'jump', config: JUMP, endpoints: specs(6), allDraining: 'all-unavailable', allExcluded: 'all-unavailable', keys: KEYS.slice(0, 500) });

test('jumpHash: matches the paper on random 64-bit keys and bucket counts', () => {
  fc.assert(
    fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.integer({ min: 1, max: 1 << 20 }), (key, buckets) => {
      assert.equal(jumpHash(Number(key >> 32n), Number(key & 0xffffffffn), buckets), referenceJump(key, buckets));
    }),
    { seed: 1406, numRuns: 3_000 },
  );
  // Edges: all-zero and all-one keys, one bucket, and the keys whose low word overflows on + 1.
  for (const key of [0n, 1n, 0xffffffffn, 0x100000000n, (1n << 64n) - 1n, 0xdeadbeefcafebaben]) {
    for (const buckets of [1, 2, 10, 1_000, 65_536, 1_000_000]) {
      assert.equal(jumpHash(Number(key >> 32n), Number(key & 0xffffffffn), buckets), referenceJump(key, buckets), `key ${key}, ${buckets} buckets`);
    }
  }
  assert.equal(jumpHash(123, 456, 0), -1, 'no buckets, no bucket');
});

test('jumpHash: matches the paper up to 2^31 - 1 buckets, where a candidate no longer fits 31 bits', () => {
  fc.assert(
    fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.integer({ min: 1, max: 2 ** 31 - 1 }), (key, buckets) => {
      assert.equal(jumpHash(Number(key >> 32n), Number(key & 0xffffffffn), buckets), referenceJump(key, buckets));
    }),
    { seed: 2014, numRuns: 300 },
  );
  // A low word that wraps to 0 on + 1 (klo x C_LO = 2^32 - 1), so that the carry reaches the high word.
  const wraps = 0x666313abn; // (2^32 - 1) x C_LO^-1 mod 2^32
  assert.equal((wraps * 0x87b0b0fdn) & 0xffffffffn, 0xffffffffn);
  for (const hi of [0n, 1n, 0xffffffffn]) {
    for (const buckets of [1, 3, 1_000, 2 ** 31 - 1]) {
      const key = (hi << 32n) | wraps;
      assert.equal(jumpHash(Number(hi), Number(wraps), buckets), referenceJump(key, buckets), `key ${key}, ${buckets} buckets`);
    }
  }
});

test('jumpHash: published values of the paper\'s function', () => {
  // The vectors of lithammer/python-jump-consistent-hash's tests (reused by other ports).
  const cases: readonly [bigint, number, number][] = [
    [1n, 1, 0],
    [42n, 57, 43],
    [0xdead10ccn, 1, 0],
    [0xdead10ccn, 666, 361],
    [256n, 1024, 520],
  ];
  for (const [key, buckets, want] of cases) {
    assert.equal(referenceJump(key, buckets), want, `reference ${key}`);
    assert.equal(jumpHash(Number(key >> 32n), Number(key & 0xffffffffn), buckets), want, `jumpHash ${key}`);
  }
});

test('jump: buckets follow natural name order, so svc-10 is the last of 11', () => {
  const set = createEndpointSet(ELEVEN);
  const t = new JumpHash().build(set);
  assert.deepEqual(Array.from(t.buckets, (i) => set.endpoints[i]!.name), Array.from({ length: 11 }, (_, i) => `svc-${i}`));
});

test('jump: removing the last endpoint (svc-10) moves only its keys', () => {
  const m = removal(JUMP, ELEVEN, 'svc-10', KEYS);
  assert.equal(m.strays, 0);
  assert.equal(m.moved, m.owned);
  assert.ok(m.owned > 1_500 && m.owned < 2_200, `svc-10 owned ${m.owned}`);
});

test('jump: adding a 12th endpoint at the end moves about 1/12 of the keys, all to it', () => {
  const m = addition(JUMP, ELEVEN, { name: 'svc-11', address: '10.9.9.9:80' }, KEYS);
  const ideal = KEYS.length / 12;
  assert.equal(m.strays, 0);
  assert.ok(m.moved <= ideal * 1.2 && m.moved >= ideal / 1.2, `moved ${m.moved}, ideal ${ideal.toFixed(0)}`);
});

test('jump: removing a middle endpoint renumbers the rest (documented: use another algorithm)', () => {
  const m = removal(JUMP, ELEVEN, 'svc-3', KEYS);
  assert.ok(m.strays > KEYS.length / 2, `strays ${m.strays}`);
});

test('jump: input order and addresses do not matter; weights are ignored', () => {
  assertOrderFree(JUMP, ELEVEN, KEYS);
  assertAddressFree(JUMP, ELEVEN, KEYS);
  const weightedList = specs(4).map((e, i) => ({ ...e, weight: 1 + i * 3 }));
  const owners = ownersOf(keyed(JUMP, weightedList), KEYS);
  for (let i = 0; i < 4; i++) {
    const c = countOf(owners, `svc-${i}`);
    assert.ok(Math.abs(c - 5_000) < 300, `svc-${i}: ${c}`);
  }
});

test('naturalCompare: digit runs as numbers, the rest by code unit, a total order', () => {
  const sorted = ['a', 'a-0', 'a-01', 'a-1', 'a-2', 'a-9', 'a-10', 'a-10-1', 'a-10-2', 'a-11', 'a-100', 'a-1000000000000000000001', 'a_1', 'ab', 'b-1'];
  const rng = seededRng(8);
  for (let i = 0; i < 10; i++) assert.deepEqual(shuffle(sorted, rng).sort(naturalCompare), sorted);
  assert.equal(naturalCompare('x', 'x'), 0);
  assert.ok(naturalCompare('svc-9', 'svc-10') < 0);
  assert.ok(naturalCompare('svc-10', 'svc-9') > 0);
  assert.ok(naturalCompare('B', 'a') < 0, 'code-unit order for letters, no locale rules');
  fc.assert(
    fc.property(fc.array(fc.string({ unit: fc.constantFrom('a', 'b', '-', '0', '1', '2', '9', 'Z'), maxLength: 6 }), { minLength: 3, maxLength: 3 }), ([x, y, z]) => {
      const s = Math.sign;
      assert.ok(s(naturalCompare(x!, y!)) === -s(naturalCompare(y!, x!)), `antisymmetric on ${x}, ${y}`);
      if (naturalCompare(x!, y!) === 0) assert.equal(x, y);
      if (naturalCompare(x!, y!) <= 0 && naturalCompare(y!, z!) <= 0) assert.ok(naturalCompare(x!, z!) <= 0, `${x} <= ${y} <= ${z}`);
    }),
    { seed: 5, numRuns: 3_000 },
  );
});
