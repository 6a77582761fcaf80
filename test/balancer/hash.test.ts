import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import xxhash from 'xxhash-wasm';
import { hash32, hash64, hashKey, hashMod, mix32 } from '../../src/balancer/hash.js';

// The WebAssembly build of the reference C implementation: the hash must stay bit-identical to it.
const wasm = await xxhash();

// xxHash64 written out from the specification (Collet, xxhash_spec.md) in BigInt, slow and plain,
// so that the library's answers are checked against something that shares no code with it.
const P1 = 0x9e3779b185ebca87n;
const P2 = 0xc2b2ae3d27d4eb4fn;
const P3 = 0x165667b19e3779f9n;
const P4 = 0x85ebca77c2b2ae63n;
const P5 = 0x27d4eb2f165667c5n;
const M64 = (1n << 64n) - 1n;

const rotl64 = (x: bigint, r: bigint): bigint => ((x << r) | (x >> (64n - r))) & M64;
const round = (acc: bigint, lane: bigint): bigint => (rotl64((acc + lane * P2) & M64, 31n) * P1) & M64;
const merge = (acc: bigint, v: bigint): bigint => (((acc ^ round(0n, v)) * P1) + P4) & M64;

function readLE(b: Uint8Array, at: number, bytes: number): bigint {
  let v = 0n;
  for (let i = bytes - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[at + i]!);
  return v;
}

function referenceXxh64(input: Uint8Array, seed = 0n): bigint {
  const len = input.length;
  let p = 0;
  let h: bigint;
  if (len >= 32) {
    let v1 = (seed + P1 + P2) & M64;
    let v2 = (seed + P2) & M64;
    let v3 = seed;
    let v4 = (seed - P1) & M64;
    while (p + 32 <= len) {
      v1 = round(v1, readLE(input, p, 8));
      v2 = round(v2, readLE(input, p + 8, 8));
      v3 = round(v3, readLE(input, p + 16, 8));
      v4 = round(v4, readLE(input, p + 24, 8));
      p += 32;
    }
    h = (rotl64(v1, 1n) + rotl64(v2, 7n) + rotl64(v3, 12n) + rotl64(v4, 18n)) & M64;
    h = merge(merge(merge(merge(h, v1), v2), v3), v4);
  } else {
    h = (seed + P5) & M64;
  }
  h = (h + BigInt(len)) & M64;
  while (p + 8 <= len) {
    h ^= round(0n, readLE(input, p, 8));
    h = (rotl64(h, 27n) * P1 + P4) & M64;
    p += 8;
  }
  if (p + 4 <= len) {
    h ^= (readLE(input, p, 4) * P1) & M64;
    h = (rotl64(h, 23n) * P2 + P3) & M64;
    p += 4;
  }
  while (p < len) {
    h ^= (BigInt(input[p]!) * P5) & M64;
    h = (rotl64(h, 11n) * P1) & M64;
    p++;
  }
  h ^= h >> 33n;
  h = (h * P2) & M64;
  h ^= h >> 29n;
  h = (h * P3) & M64;
  h ^= h >> 32n;
  return h;
}

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

// Published vectors (the xxHash sanity tests and python-xxhash's documentation): if the library,
// the reference above or the key encoding changed, every owner in every deployment would change.
const GOLDEN: readonly [string, bigint, bigint][] = [
  ['', 0n, 0xef46db3751d8e999n],
  ['a', 0n, 0xd24ec4f1a98c6e5bn],
  ['abc', 0n, 0x44bc2cf5ad770999n],
  ['xxhash', 0n, 0x32dd38952c4bc720n],
  ['xxhash', 20141025n, 0xb559b98d844e0635n],
  ['Nobody inspects the spammish repetition', 0n, 0xfbcea83c8a378bf1n],
];

test('hash64: published xxHash64 vectors', () => {
  for (const [text, seed, want] of GOLDEN) {
    assert.equal(hash64(text, seed), want, `xxh64(${JSON.stringify(text)}, ${seed})`);
    assert.equal(referenceXxh64(utf8(text), seed), want, `reference xxh64(${JSON.stringify(text)})`);
  }
});

test('hash64: shardgate keys pinned (a change here moves every key in every deployment)', () => {
  const pinned: readonly [string, bigint][] = [
    ['user-42', 0x397e9d3a76af7c81n],
    ['12345', 0xc6f2d2dd0ad64fb6n],
    ['sharded-svc-2', 0xf6f6b1c53333f11fn],
    // Non-ASCII keys hash as UTF-8: Cyrillic (2 bytes) and an astral symbol (4 bytes).
    ['ключ-𝄞', 0x717337a7f220097bn],
  ];
  for (const [text, want] of pinned) {
    assert.equal(hash64(text), want, text);
    assert.equal(referenceXxh64(utf8(text)), want, `reference ${text}`);
  }
});

test('hash64: matches the reference on arbitrary strings of every length class, as UTF-8', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 100, size: 'max' }), fc.bigInt({ min: 0n, max: M64 }), (s, seed) => {
      assert.equal(hash64(s, seed), referenceXxh64(utf8(s), seed));
      assert.equal(hash64(s), referenceXxh64(utf8(s)));
    }),
    { seed: 42, numRuns: 400 },
  );
  // Every tail length around the 32-byte stripe, 8-byte lane and 4-byte word boundaries.
  for (let n = 0; n <= 80; n++) {
    const text = Array.from({ length: n }, (_, i) => String.fromCharCode(33 + ((i * 7) % 90))).join('');
    assert.equal(hash64(text), referenceXxh64(utf8(text)), `length ${n}`);
  }
});

/** Strings whose UTF-8 is every length class of XXH64: empty, tail bytes only, a 4-byte word, lanes, stripes. */
const LENGTHS = [0, 1, 2, 3, 4, 5, 7, 8, 9, 11, 12, 15, 16, 23, 24, 31, 32, 33, 39, 40, 63, 64, 65, 95, 96, 100, 257];

test('hash64: bit-identical to xxhash-wasm for every length class, seed and kind of text', () => {
  const units = [
    fc.string({ unit: 'binary', maxLength: 300, size: 'max' }),
    fc.string({ unit: 'grapheme-ascii', maxLength: 120, size: 'max' }),
    // Lone and paired surrogates in any order, mixed with 1-, 2- and 3-byte characters.
    fc.string({ unit: fc.constantFrom('a', 'é', '€', '\ud834', '\udd1e', '\ud834\udd1e', '\udbff\udfff', '\u07ff', '\u0800', '\uffff'), maxLength: 60, size: 'max' }),
  ];
  for (const [i, arb] of units.entries()) {
    fc.assert(
      fc.property(arb, fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }), (s, seed) => {
        assert.equal(hash64(s), wasm.h64(s), JSON.stringify(s));
        assert.equal(hash64(s, seed), wasm.h64(s, seed), `${JSON.stringify(s)} seed ${seed}`);
        assert.equal(hash32(s, seed), Number(wasm.h64(s, seed) >> 32n));
        const k = hashKey(s);
        assert.equal((BigInt(k.hi) << 32n) | BigInt(k.lo), wasm.h64(s));
      }),
      { seed: 100 + i, numRuns: 1_000 },
    );
  }
  for (const n of LENGTHS) {
    for (const fill of ['x', 'é', '€', '𝄞']) {
      const text = fill.repeat(n).slice(0, n);
      assert.equal(hash64(text), wasm.h64(text), `${n} x ${fill}`);
      assert.equal(hash64(text, 0xffffffffffffffffn), wasm.h64(text, 0xffffffffffffffffn), `${n} x ${fill}, seed 2^64 - 1`);
    }
  }
});

test('hash64: lone surrogates hash as U+FFFD, exactly as TextEncoder writes them', () => {
  const cases: readonly [string, string][] = [
    ['\ud800', '\ufffd'],
    ['\udc00', '\ufffd'],
    ['a\ud834', 'a\ufffd'],
    ['\udd1e\ud834', '\ufffd\ufffd'],
    ['\ud834\ud834\udd1e', '\ufffd\ud834\udd1e'],
    ['x\udfffy', 'x\ufffdy'],
  ];
  for (const [lone, replaced] of cases) {
    assert.deepEqual(utf8(lone), utf8(replaced), 'TextEncoder replaces lone surrogates');
    assert.equal(hash64(lone), hash64(replaced), JSON.stringify(lone));
    assert.equal(hash64(lone), wasm.h64(lone), JSON.stringify(lone));
    assert.equal(hash64(lone), referenceXxh64(utf8(lone)), JSON.stringify(lone));
  }
  assert.notEqual(hash64('\ud834\udd1e'), hash64('\ufffd\ufffd'), 'a pair is one 4-byte character');
});

test('hash64: keys longer than the encoding buffer hash the same way', () => {
  for (const n of [1_365, 1_366, 1_400, 4_096, 20_000]) {
    for (const text of ['k'.repeat(n), '€'.repeat(n), `${'a'.repeat(n - 1)}\ud800`]) {
      assert.equal(hash64(text), wasm.h64(text), `${n} units`);
      assert.equal(hashKey(text).hi, Number(wasm.h64(text) >> 32n));
    }
  }
  // A long key does not disturb the next short one.
  assert.equal(hash64('abc'), 0x44bc2cf5ad770999n);
});

test('hashKey: hi and lo are the two unsigned 32-bit halves of xxHash64', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (s) => {
      const k = hashKey(s);
      const h = referenceXxh64(utf8(s));
      assert.equal(k.text, s);
      assert.equal(k.hi, Number(h >> 32n));
      assert.equal(k.lo, Number(h & 0xffffffffn));
      assert.ok(Number.isInteger(k.hi) && k.hi >= 0 && k.hi < 2 ** 32);
      assert.ok(Number.isInteger(k.lo) && k.lo >= 0 && k.lo < 2 ** 32);
      assert.equal((BigInt(k.hi) << 32n) | BigInt(k.lo), hash64(s));
      assert.equal(hash32(s), k.hi);
    }),
    { seed: 7, numRuns: 300 },
  );
  const empty = hashKey('');
  assert.equal(empty.hi, 0xef46db37);
  assert.equal(empty.lo, 0x51d8e999);
});

test('hash32: the high half of the seeded 64-bit hash', () => {
  assert.equal(hash32('xxhash', 20141025n), 0xb559b98d);
  assert.equal(hash32('abc'), 0x44bc2cf5);
});

test('hashKey: numeric is the decimal value of an all-digit key, -1 otherwise', () => {
  const cases: readonly [string, number][] = [
    ['0', 0],
    ['7', 7],
    ['12345', 12345],
    ['007', 7],
    ['999999999999999', 999999999999999],
    ['1000000000000000', 1e15],
    ['9007199254740991', Number.MAX_SAFE_INTEGER],
    ['00000000000000000000042', 42],
    ['9007199254740992', -1],
    ['12345678901234567890', -1],
    ['', -1],
    ['-1', -1],
    ['+1', -1],
    ['1.5', -1],
    ['1e3', -1],
    [' 1', -1],
    ['1 ', -1],
    ['0x10', -1],
    ['١٢', -1],
    ['１２', -1],
    ['12a', -1],
    ['/', -1],
    [':', -1],
  ];
  for (const [text, want] of cases) assert.equal(hashKey(text).numeric, want, JSON.stringify(text));
});

test('hashKey: numeric agrees with BigInt for every digit string', () => {
  fc.assert(
    fc.property(fc.string({ unit: fc.constantFrom('0', '1', '2', '3', '4', '5', '6', '7', '8', '9'), minLength: 1, maxLength: 22, size: 'max' }), (s) => {
      const v = BigInt(s);
      const want = v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : -1;
      assert.equal(hashKey(s).numeric, want, s);
    }),
    { seed: 3, numRuns: 2_000 },
  );
});

test('hashMod: (hi x 2^32 + lo) mod m, exactly, for every m below 2^21', () => {
  fc.assert(
    fc.property(fc.nat({ max: 0xffffffff }), fc.nat({ max: 0xffffffff }), fc.integer({ min: 1, max: 2 ** 21 - 1 }), (hi, lo, m) => {
      const want = Number(((BigInt(hi) << 32n) | BigInt(lo)) % BigInt(m));
      assert.equal(hashMod(hi, lo, m), want);
    }),
    { seed: 21, numRuns: 5_000 },
  );
  // The extremes, where the intermediate sum is largest.
  for (const m of [1, 2, 3, 65_537, 1_000_000, 2_000_003, 2 ** 21 - 1]) {
    for (const [hi, lo] of [[0xffffffff, 0xffffffff], [0, 0], [0xffffffff, 0], [0, 0xffffffff], [m - 1, 0xffffffff]] as const) {
      assert.equal(hashMod(hi, lo, m), Number(((BigInt(hi) << 32n) | BigInt(lo)) % BigInt(m)), `hashMod(${hi}, ${lo}, ${m})`);
    }
  }
});

/** The inverse of murmur3's fmix32, from modular inverses of its multipliers. */
function inverseMix32(h: number, b: number): number {
  const inv = (x: bigint): number => {
    // Newton's iteration for the inverse of an odd number mod 2^32.
    let y = x;
    for (let i = 0; i < 5; i++) y = (y * (2n - x * y)) & 0xffffffffn;
    return Number(y);
  };
  let x = h >>> 0;
  x = (x ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, inv(0xc2b2ae35n)) >>> 0;
  x = (x ^ (x >>> 13) ^ (x >>> 26)) >>> 0;
  x = Math.imul(x, inv(0x85ebca6bn)) >>> 0;
  x = (x ^ (x >>> 16)) >>> 0;
  return (x ^ Math.imul(b, 0x9e3779b1)) >>> 0;
}

test('mix32: a bijection of its first argument for every second one (it has an inverse)', () => {
  fc.assert(
    fc.property(fc.nat({ max: 0xffffffff }), fc.nat({ max: 0xffffffff }), (a, b) => {
      const h = mix32(a, b);
      assert.ok(Number.isInteger(h) && h >= 0 && h < 2 ** 32);
      assert.equal(inverseMix32(h, b), a);
    }),
    { seed: 9, numRuns: 5_000 },
  );
});

test('mix32: no collisions over 2^20 consecutive inputs, and outputs spread over all bits', () => {
  for (const b of [0, 1, 0xdeadbeef]) {
    const seen = new Set<number>();
    const ones = new Array<number>(32).fill(0);
    const n = 1 << 20;
    for (let a = 0; a < n; a++) {
      const h = mix32(a, b);
      seen.add(h);
      if (a < 1 << 16) for (let bit = 0; bit < 32; bit++) ones[bit]! += (h >>> bit) & 1;
    }
    assert.equal(seen.size, n, `b = ${b}: distinct inputs give distinct outputs`);
    for (let bit = 0; bit < 32; bit++) {
      const share = ones[bit]! / (1 << 16);
      assert.ok(share > 0.48 && share < 0.52, `b = ${b}: bit ${bit} set in ${share} of outputs`);
    }
  }
});
