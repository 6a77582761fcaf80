/**
 * The one key hash of shardgate: xxHash64 (seed 0) of the key's UTF-8 bytes. The proxy, the client
 * library and the lookup API all turn keys into numbers here and nowhere else, so they agree on
 * owners; golden vectors in test/balancer/hash.test.ts catch any change.
 *
 * xxHash64 follows Collet's specification (xxhash_spec.md, XXH64), computed on 32-bit halves:
 * Math.imul gives the low word of each 64-bit product, four 16-bit partial products its high word.
 * Hashing a key so takes no BigInt and allocates nothing but the returned RoutingKey (keys over
 * 1,365 UTF-16 units also get an encoding buffer); for request-sized keys it takes about half the
 * time of xxhash-wasm's h64 and its BigInt result (bench:balance, "key hash"). Bit-identical
 * results to the reference implementation are checked by property tests against xxhash-wasm.
 *
 * Strings are hashed as UTF-8 exactly as TextEncoder writes them: a lone surrogate (UTF-16 text
 * that is not Unicode) becomes U+FFFD, bytes EF BF BD.
 *
 * The 64-bit result is kept as two unsigned 32-bit halves so that algorithms can use it without
 * BigInt on their pick path.
 */

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

// The five 64-bit primes of XXH64, as high and low words, held as int32 (`| 0`) so that every sum
// below stays in 32-bit integer registers instead of going through doubles.
const P1H = 0x9e3779b1 | 0;
const P1L = 0x85ebca87 | 0;
const P2H = 0xc2b2ae3d | 0;
const P2L = 0x27d4eb4f | 0;
const P3H = 0x165667b1 | 0;
const P3L = 0x9e3779f9 | 0;
const P4H = 0x85ebca77 | 0;
const P4L = 0xc2b2ae63 | 0;
const P5H = 0x27d4eb2f | 0;
const P5L = 0x165667c5 | 0;

/**
 * UTF-8 of the text being hashed. Hashing is synchronous and single-threaded, so one buffer serves
 * every call; a key too long for it (over 1,365 UTF-16 units) gets a buffer of its own.
 */
const SCRATCH = new Uint8Array(4096);
/**
 * The result and the four stripe accumulators of a long input as (high, low) word pairs: [0, 1]
 * the result, [2..9] v1..v4. Written and read within one call.
 */
const REG = new Int32Array(10);

export function hashKey(text: string): RoutingKey {
  xxh64(text, 0, 0);
  return { text, hi: REG[0]! >>> 0, lo: REG[1]! >>> 0, numeric: parseDecimal(text) };
}

/** xxHash64 of a string as a BigInt, for building tables (off the pick path). */
export function hash64(text: string, seed = 0n): bigint {
  xxh64(text, seedHigh(seed), seedLow(seed));
  return (BigInt(REG[0]! >>> 0) << 32n) | BigInt(REG[1]! >>> 0);
}

/** The high 32 bits of xxHash64(text, seed): positions of ring points and maglev permutations. */
export function hash32(text: string, seed = 0n): number {
  xxh64(text, seedHigh(seed), seedLow(seed));
  return REG[0]! >>> 0;
}

// A seed is a 64-bit word: a negative or larger BigInt wraps as WebAssembly's i64 and C's uint64_t do.
function seedHigh(seed: bigint): number {
  return seed === 0n ? 0 : Number(BigInt.asIntN(32, seed >> 32n));
}

function seedLow(seed: bigint): number {
  return seed === 0n ? 0 : Number(BigInt.asIntN(32, seed));
}

/**
 * Writes `text` as UTF-8 into `out` (at least 3 bytes per UTF-16 unit) and returns the length. A
 * surrogate pair is one 4-byte sequence; a lone surrogate is U+FFFD, as in TextEncoder.
 */
function utf8(text: string, out: Uint8Array): number {
  const n = text.length;
  // ASCII, the common case, in a tight loop; the general one takes over at the first other unit.
  let i = 0;
  for (; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) break;
    out[i] = c;
  }
  let j = i;
  for (; i < n; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) {
      out[j++] = c;
    } else if (c < 0x800) {
      out[j++] = 0xc0 | (c >> 6);
      out[j++] = 0x80 | (c & 0x3f);
    } else if ((c & 0xf800) !== 0xd800) {
      out[j++] = 0xe0 | (c >> 12);
      out[j++] = 0x80 | ((c >> 6) & 0x3f);
      out[j++] = 0x80 | (c & 0x3f);
    } else {
      const d = i + 1 < n ? text.charCodeAt(i + 1) : 0;
      if (c < 0xdc00 && (d & 0xfc00) === 0xdc00) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
        out[j++] = 0xf0 | (c >> 18);
        out[j++] = 0x80 | ((c >> 12) & 0x3f);
        out[j++] = 0x80 | ((c >> 6) & 0x3f);
        out[j++] = 0x80 | (c & 0x3f);
      } else {
        out[j++] = 0xef;
        out[j++] = 0xbf;
        out[j++] = 0xbd;
      }
    }
  }
  return j;
}

/** byte x P5 for every byte, as (high, low) pairs: the tail's multiplication, looked up. */
const BYTE_P5 = new Int32Array(512);
for (let byte = 0; byte < 256; byte++) {
  BYTE_P5[byte << 1] = mulHigh(0, byte, P5H, P5L);
  BYTE_P5[(byte << 1) | 1] = Math.imul(byte, P5L);
}

// 64-bit arithmetic on (high, low) pairs of int32 words. Every intermediate stays an integer below
// 2^53 and every result is truncated with `| 0`, so the compiler keeps it all in 32-bit registers.

/** The little-endian 32-bit word at byte `p`. */
function word(b: Uint8Array, p: number): number {
  return b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24);
}

/**
 * The high word of (ah:al) x (bh:bl) mod 2^64; the low word is Math.imul(al, bl). The high word of
 * al x bl comes from its four 16-bit partial products, each below 2^32 and so exact in Math.imul.
 */
function mulHigh(ah: number, al: number, bh: number, bl: number): number {
  const a0 = al & 0xffff;
  const a1 = al >>> 16;
  const b0 = bl & 0xffff;
  const b1 = bl >>> 16;
  const p01 = Math.imul(a0, b1);
  const p10 = Math.imul(a1, b0);
  const mid = (Math.imul(a0, b0) >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  return (Math.imul(a1, b1) + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16) + Math.imul(ah, bl) + Math.imul(al, bh)) | 0;
}

/** 1 when the 32-bit sum `sum` of `a` and something wrapped past 2^32, else 0. */
function carry(sum: number, a: number): number {
  return (sum >>> 0) < (a >>> 0) ? 1 : 0;
}

/** XXH64's round on the accumulator at REG[r]: acc = rotl(acc + lane x P2, 31) x P1. */
function round(r: number, laneH: number, laneL: number): void {
  const al = REG[r + 1]!;
  const sl = (al + Math.imul(laneL, P2L)) | 0;
  const sh = (REG[r]! + mulHigh(laneH, laneL, P2H, P2L) + carry(sl, al)) | 0;
  // rotl 31
  const th = (sh << 31) | (sl >>> 1);
  const tl = (sl << 31) | (sh >>> 1);
  REG[r] = mulHigh(th, tl, P1H, P1L);
  REG[r + 1] = Math.imul(tl, P1L);
}

/** XXH64's merge of the accumulator at REG[v] into the result: h = (h ^ round(0, v)) x P1 + P4. */
function mergeRound(v: number): void {
  const vh = REG[v]!;
  const vl = REG[v + 1]!;
  REG[v] = 0;
  REG[v + 1] = 0;
  round(v, vh, vl);
  const xh = REG[0]! ^ REG[v];
  const xl = REG[1]! ^ REG[v + 1]!;
  const ml = Math.imul(xl, P1L);
  const sl = (ml + P4L) | 0;
  REG[0] = (mulHigh(xh, xl, P1H, P1L) + P4H + carry(sl, ml)) | 0;
  REG[1] = sl;
}

/** REG[v] rotated left by r (0 < r < 32), added to the pair at REG[0]. */
function addRotated(v: number, r: number): void {
  const h = REG[v]!;
  const l = REG[v + 1]!;
  const rl = (l << r) | (h >>> (32 - r));
  const sl = (REG[1]! + rl) | 0;
  REG[0] = (REG[0]! + ((h << r) | (l >>> (32 - r))) + carry(sl, rl)) | 0;
  REG[1] = sl;
}

/** xxHash64 of the UTF-8 of `text` with the seed (seedH:seedL), into REG[0] and REG[1]. */
function xxh64(text: string, seedH: number, seedL: number): void {
  const b = text.length * 3 <= SCRATCH.length ? SCRATCH : new Uint8Array(text.length * 3);
  const len = utf8(text, b);
  let p = 0;
  let hh: number;
  let hl: number;
  if (len >= 32) {
    stripes(b, len, seedH, seedL);
    p = len - (len % 32);
    hh = REG[0]!;
    hl = REG[1]!;
  } else {
    hl = (seedL + P5L) | 0;
    hh = (seedH + P5H + carry(hl, seedL)) | 0;
  }
  // h += len (below 2^32: no key is 4 GiB)
  const sl = (hl + len) | 0;
  hh = (hh + carry(sl, hl)) | 0;
  hl = sl;

  while (p + 8 <= len) {
    // h ^= round(0, lane); h = rotl(h, 27) x P1 + P4. round(0, lane) = rotl(lane x P2, 31) x P1.
    const wl = word(b, p);
    const wh = word(b, p + 4);
    const mh = mulHigh(wh, wl, P2H, P2L);
    const ml = Math.imul(wl, P2L);
    const th = (mh << 31) | (ml >>> 1);
    const tl = (ml << 31) | (mh >>> 1);
    hh ^= mulHigh(th, tl, P1H, P1L);
    hl ^= Math.imul(tl, P1L);
    const rh = (hh << 27) | (hl >>> 5);
    const rl = (hl << 27) | (hh >>> 5);
    const ql = Math.imul(rl, P1L);
    hl = (ql + P4L) | 0;
    hh = (mulHigh(rh, rl, P1H, P1L) + P4H + carry(hl, ql)) | 0;
    p += 8;
  }
  if (p + 4 <= len) {
    // h ^= word x P1; h = rotl(h, 23) x P2 + P3
    const w = word(b, p);
    hh ^= mulHigh(0, w, P1H, P1L);
    hl ^= Math.imul(w, P1L);
    const rh = (hh << 23) | (hl >>> 9);
    const rl = (hl << 23) | (hh >>> 9);
    const ql = Math.imul(rl, P2L);
    hl = (ql + P3L) | 0;
    hh = (mulHigh(rh, rl, P2H, P2L) + P3H + carry(hl, ql)) | 0;
    p += 4;
  }
  while (p < len) {
    // h ^= byte x P5; h = rotl(h, 11) x P1
    const byte = b[p]!;
    hh ^= BYTE_P5[byte << 1]!;
    hl ^= BYTE_P5[(byte << 1) | 1]!;
    const rh = (hh << 11) | (hl >>> 21);
    const rl = (hl << 11) | (hh >>> 21);
    hh = mulHigh(rh, rl, P1H, P1L);
    hl = Math.imul(rl, P1L);
    p++;
  }
  // Avalanche: h ^= h >> 33; h *= P2; h ^= h >> 29; h *= P3; h ^= h >> 32.
  hl ^= hh >>> 1;
  let th = mulHigh(hh, hl, P2H, P2L);
  hl = Math.imul(hl, P2L);
  hh = th;
  hl ^= (hh << 3) | (hl >>> 29);
  hh ^= hh >>> 29;
  th = mulHigh(hh, hl, P3H, P3L);
  hl = Math.imul(hl, P3L);
  REG[0] = th;
  REG[1] = hl ^ th;
}

/**
 * The 32-byte stripes of an input of 32 bytes or more, through the four accumulators, merged into
 * REG[0..1] (before the length is added).
 */
function stripes(b: Uint8Array, len: number, seedH: number, seedL: number): void {
  // v1 = seed + P1 + P2, v2 = seed + P2, v3 = seed, v4 = seed - P1
  const s1 = (seedL + P1L) | 0;
  const c1 = carry(s1, seedL);
  const s2 = (s1 + P2L) | 0;
  REG[3] = s2;
  REG[2] = (seedH + P1H + P2H + c1 + carry(s2, s1)) | 0;
  REG[5] = (seedL + P2L) | 0;
  REG[4] = (seedH + P2H + carry(REG[5], seedL)) | 0;
  REG[6] = seedH;
  REG[7] = seedL;
  REG[9] = (seedL - P1L) | 0;
  REG[8] = (seedH - P1H - ((seedL >>> 0) < (P1L >>> 0) ? 1 : 0)) | 0;
  for (let p = 0; p + 32 <= len; p += 32) {
    round(2, word(b, p + 4), word(b, p));
    round(4, word(b, p + 12), word(b, p + 8));
    round(6, word(b, p + 20), word(b, p + 16));
    round(8, word(b, p + 28), word(b, p + 24));
  }
  // h = rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18), then each merged in.
  REG[0] = 0;
  REG[1] = 0;
  addRotated(2, 1);
  addRotated(4, 7);
  addRotated(6, 12);
  addRotated(8, 18);
  mergeRound(2);
  mergeRound(4);
  mergeRound(6);
  mergeRound(8);
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
