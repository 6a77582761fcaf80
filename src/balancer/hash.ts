/**
 * The one key hash of shardgate: xxHash64 (seed 0) of the key's UTF-8 bytes. The proxy, the client
 * library and the lookup API all turn keys into numbers here and nowhere else, so they agree on
 * owners; golden vectors in test/balancer/hash.test.ts catch any change.
 *
 * The 64-bit result is kept as two unsigned 32-bit halves so that algorithms can use it without
 * BigInt on their pick path.
 */
import xxhash from 'xxhash-wasm';

const xx = await xxhash();

/** A request's routing key, hashed once when it is read from the request. */
export interface RoutingKey {
  readonly text: string;
  /** High and low 32 bits of xxHash64(text). */
  readonly hi: number;
  readonly lo: number;
  /** The key as a non-negative safe integer when it is one in decimal, else -1. */
  readonly numeric: number;
}

const TWO_32 = 4294967296;

export function hashKey(text: string): RoutingKey {
  const h = xx.h64(text);
  return {
    text,
    hi: Number(h >> 32n),
    lo: Number(h & 0xffffffffn),
    numeric: parseDecimal(text),
  };
}

/** xxHash64 of a string as a BigInt, for building tables (off the pick path). */
export function hash64(text: string, seed = 0n): bigint {
  return xx.h64(text, seed);
}

/** The high 32 bits of xxHash64(text, seed): positions of ring points and maglev permutations. */
export function hash32(text: string, seed = 0n): number {
  return Number(xx.h64(text, seed) >> 32n);
}

function parseDecimal(text: string): number {
  const n = text.length;
  if (n === 0) return -1;
  let v = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    // Checked before multiplying, so v stays exact: every safe integer (16 digits included, and
    // any number of leading zeros) is numeric, nothing above MAX_SAFE_INTEGER is.
    if (v > (Number.MAX_SAFE_INTEGER - c) / 10) return -1;
    v = v * 10 + c;
  }
  return v;
}

/** The 64-bit hash as a number in [0, m) for any m < 2^21, without BigInt: (hi * 2^32 + lo) mod m. */
export function hashMod(hi: number, lo: number, m: number): number {
  return ((hi % m) * TWO_32 + lo) % m;
}

/**
 * A 32-bit finaliser (murmur3's fmix32): turns (a ^ b) into a well-mixed word. Used to derive the
 * k-th probe of a key and per-endpoint rendezvous scores without allocating.
 */
export function mix32(a: number, b: number): number {
  let h = (a ^ Math.imul(b, 0x9e3779b1)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
