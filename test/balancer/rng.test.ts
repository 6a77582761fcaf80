import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Xoshiro128, entropyRng, seededRng } from '../../src/balancer/rng.js';

/** xoshiro128** from Blackman and Vigna's reference C, on an explicit state. */
function referenceXoshiro(state: readonly number[]): () => number {
  const s = Uint32Array.from(state);
  const rotl = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0;
  return () => {
    const result = Math.imul(rotl(Math.imul(s[1]!, 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1]! << 9) >>> 0;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
  };
}

/** The seeding the implementation documents: four words of splitmix32 from the seed. */
function seedState(seed: number): number[] {
  let x = seed >>> 0;
  const out: number[] = [];
  for (let i = 0; i < 4; i++) {
    x = (x + 0x9e3779b9) >>> 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    out.push((z ^ (z >>> 16)) >>> 0);
  }
  return out;
}

test('rng: the reference step reproduces the published xoshiro128** start from state 1, 2, 3, 4', () => {
  const next = referenceXoshiro([1, 2, 3, 4]);
  assert.deepEqual([next(), next(), next(), next()], [11520, 0, 5927040, 70819200]);
});

test('rng: Xoshiro128 is xoshiro128** over its splitmix32-seeded state', () => {
  for (const seed of [0, 1, 7, 0xffffffff, 123456789]) {
    const ref = referenceXoshiro(seedState(seed));
    const rng = new Xoshiro128(seed);
    for (let i = 0; i < 1_000; i++) assert.equal(rng.nextUint32(), ref(), `seed ${seed}, draw ${i}`);
  }
});

test('rng: the same seed gives the same stream; different seeds give different streams', () => {
  const draw = (seed: number): number[] => {
    const r = seededRng(seed);
    return Array.from({ length: 1_000 }, () => r.nextUint32());
  };
  assert.deepEqual(draw(42), draw(42));
  assert.notDeepEqual(draw(42), draw(43));
  const a = draw(1);
  const b = draw(2);
  const same = a.filter((v, i) => v === b[i]).length;
  assert.ok(same < 3, `neighbouring seeds share ${same} of 1000 draws`);
  // below() draws from the same stream.
  const r1 = seededRng(9);
  const r2 = seededRng(9);
  for (let i = 0; i < 100; i++) assert.equal(r1.below(1000), r2.nextUint32() % 1000);
});

test('rng: nextUint32 covers [0, 2^32) and every bit is fair', () => {
  const r = seededRng(3);
  const n = 100_000;
  const ones = new Array<number>(32).fill(0);
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = r.nextUint32();
    assert.ok(Number.isInteger(v) && v >= 0 && v < 2 ** 32);
    if (v < min) min = v;
    if (v > max) max = v;
    for (let b = 0; b < 32; b++) ones[b]! += (v >>> b) & 1;
  }
  assert.ok(min < 2 ** 32 * 0.001 && max > 2 ** 32 * 0.999, `range ${min}..${max}`);
  for (let b = 0; b < 32; b++) assert.ok(Math.abs(ones[b]! / n - 0.5) < 0.01, `bit ${b}: ${ones[b]! / n}`);
});

test('rng: below(k) is in range and roughly uniform (chi-square, 99.9% quantile)', () => {
  const r = seededRng(17);
  for (const k of [2, 10, 37, 1000]) {
    const n = 200 * k;
    const counts = new Array<number>(k).fill(0);
    for (let i = 0; i < n; i++) {
      const v = r.below(k);
      assert.ok(Number.isInteger(v) && v >= 0 && v < k, `below(${k}) gave ${v}`);
      counts[v]!++;
    }
    const expected = n / k;
    const chi2 = counts.reduce((a, c) => a + (c - expected) ** 2 / expected, 0);
    // Wilson-Hilferty approximation of the 99.9% quantile of chi-square with k - 1 degrees.
    const d = k - 1;
    const q = d * (1 - 2 / (9 * d) + 3.09 * Math.sqrt(2 / (9 * d))) ** 3;
    assert.ok(chi2 < q, `below(${k}): chi-square ${chi2.toFixed(1)} above ${q.toFixed(1)}`);
  }
});

test('rng: an all-zero state is impossible (it would emit zeros forever)', () => {
  for (let seed = 0; seed < 2_000; seed++) {
    const r = seededRng(seed);
    let any = 0;
    for (let i = 0; i < 4; i++) any |= r.nextUint32();
    assert.notEqual(any, 0, `seed ${seed}`);
  }
});

test('rng: entropyRng gives a working generator', () => {
  const r = entropyRng();
  const seen = new Set<number>();
  for (let i = 0; i < 100; i++) seen.add(r.nextUint32());
  assert.ok(seen.size > 95);
});
