/**
 * Jump consistent hash (Lamping and Veach, 2014; arXiv 1406.2294): maps a 64-bit key to one of n
 * buckets with no table at all, moving only 1/n of keys when a bucket is ADDED OR REMOVED AT THE
 * END. Buckets are the endpoints in natural name order (`svc-2` before `svc-10`), so scaling a
 * StatefulSet up or down, which adds or removes its highest ordinal, is ideal; removing a middle
 * endpoint renumbers the ones after it and moves far more (use ring hash, maglev or rendezvous for
 * sets that change anywhere). Jump ignores weights.
 *
 * The 64-bit LCG of the paper is done in two 32-bit halves, so pick allocates nothing (no BigInt).
 * pick: O(log n) expected; update(): O(n log n) sort; memory: one array of n indices.
 */
import type { NoPickReason } from './balancer.js';
import type { EndpointSet } from './endpoint.js';
import type { RoutingKey } from './hash.js';
import { mix32 } from './hash.js';
import type { HashCore, HashCoreBuilder } from './hashing-balancer.js';

const C_HI = 0x27bb2ee6;
const C_LO = 0x87b0b0fd;

/**
 * The paper's JumpConsistentHash(key, buckets) with key = hi * 2^32 + lo, for 1 <= buckets < 2^31.
 *
 * Written for V8's integer paths, and for the one chain of dependent steps the loop has: each
 * bucket candidate j = floor((b + 1) x 2^31 / ((key >>> 33) + 1)) needs the one before it, about
 * ln(n) + 1 times. The paper's double multiplication is kept bit for bit (it decides the buckets),
 * but its floor is a truncation to int32 once the candidate is known to be below `buckets` (so below
 * 2^31), and the loop ends on the unfloored product (floor(y) >= n exactly when y >= n): on that
 * chain an integer truncation is cheaper than a floor and the conversions around it. The 64-bit
 * LCG runs beside it on 32-bit integers: every partial product comes from Math.imul and every sum
 * is cut back with `| 0`, so no double appears on its side.
 */
export function jumpHash(hi: number, lo: number, buckets: number): number {
  if (buckets < 1) return -1;
  // c is b + 1 of the paper: the candidate so far, plus one.
  let c = 1;
  let khi = hi | 0;
  let klo = lo | 0;
  for (;;) {
    // key = key * 2862933555777941757 + 1 (mod 2^64), C = C_HI * 2^32 + C_LO.
    // The high word of klo x C_LO (unsigned), from 16-bit halves (C_LO = 0x87b0_b0fd): each
    // partial product is below 2^32, and its bits are exact in Math.imul's 32-bit result.
    const a0 = klo & 0xffff;
    const a1 = klo >>> 16;
    const p01 = Math.imul(a0, 0x87b0);
    const p10 = Math.imul(a1, 0xb0fd);
    const mid = (Math.imul(a0, 0xb0fd) >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
    const carry = (Math.imul(a1, 0x87b0) + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16)) | 0;
    const nlo = (Math.imul(klo, C_LO) + 1) | 0;
    // The + 1 carries into the high word only when the low word wraps to 0.
    khi = (Math.imul(khi, C_LO) + Math.imul(klo, C_HI) + carry + (nlo === 0 ? 1 : 0)) | 0;
    klo = nlo;
    // j = (b + 1) * (2^31 / ((key >>> 33) + 1))
    const y = c * (2147483648 / ((khi >>> 1) + 1));
    if (y >= buckets) return c - 1;
    c = (y | 0) + 1;
  }
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/**
 * Natural order of names: runs of ASCII digits compare as numbers (`svc-9` < `svc-10`), everything
 * else by UTF-16 code unit, and names equal that way (`svc-01`, `svc-1`) by plain code-unit order.
 * Written out rather than left to `Intl.Collator`, whose order follows the runtime's ICU data and
 * locale rules: bucket numbers, hence owners, must be the same on every build of every runtime
 * that routes by this table.
 */
export function naturalCompare(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(j);
    if (isDigit(ca) && isDigit(cb)) {
      while (i < a.length && a.charCodeAt(i) === 48) i++;
      while (j < b.length && b.charCodeAt(j) === 48) j++;
      let ei = i;
      let ej = j;
      while (ei < a.length && isDigit(a.charCodeAt(ei))) ei++;
      while (ej < b.length && isDigit(b.charCodeAt(ej))) ej++;
      if (ei - i !== ej - j) return ei - i < ej - j ? -1 : 1;
      for (; i < ei; i++, j++) {
        const d = a.charCodeAt(i) - b.charCodeAt(j);
        if (d !== 0) return d < 0 ? -1 : 1;
      }
    } else {
      if (ca !== cb) return ca < cb ? -1 : 1;
      i++;
      j++;
    }
  }
  const restA = a.length - i;
  const restB = b.length - j;
  if (restA !== restB) return restA < restB ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

export class JumpHash implements HashCoreBuilder {
  readonly algorithm = 'jump';
  readonly strictOwner = false;

  build(set: EndpointSet): JumpTable {
    const order = set.endpoints
      .map((e) => e)
      .sort((a, b) => naturalCompare(a.name, b.name))
      .map((e) => e.index);
    return new JumpTable(Uint32Array.from(order));
  }
}

export class JumpTable implements HashCore {
  readonly missReason: NoPickReason = 'empty';
  /** Endpoint index of each bucket. */
  readonly buckets: Uint32Array;
  #hi = 0;
  #lo = 0;
  #attempt = 0;

  constructor(buckets: Uint32Array) {
    this.buckets = buckets;
  }

  first(key: RoutingKey): number {
    this.#hi = key.hi;
    this.#lo = key.lo;
    this.#attempt = 0;
    return this.buckets[jumpHash(key.hi, key.lo, this.buckets.length)]!;
  }

  next(): number {
    const a = ++this.#attempt;
    return this.buckets[jumpHash(mix32(this.#hi, a), mix32(this.#lo, a ^ 0x5bd1e995), this.buckets.length)]!;
  }
}
