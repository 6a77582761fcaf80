import { randomBytes } from 'node:crypto';

/** Randomness as algorithms see it: injected and seedable. */
export interface Rng {
  /** A uniformly distributed integer in [0, 2^32). */
  nextUint32(): number;
  /**
   * A uniformly distributed integer in [0, bound), bound at most 2^30. What pick paths use: the
   * result is a small integer, which V8 never boxes, where a full 32-bit word returned from a call
   * that is not inlined becomes a heap allocation.
   */
  below(bound: number): number;
}

/**
 * xoshiro128** (Blackman and Vigna, 2018): four 32-bit words of state, a period of 2^128 - 1 and
 * no allocation per draw, so it can sit on the pick path. Seeded through splitmix32 so that
 * neighbouring seeds give unrelated streams.
 */
export class Xoshiro128 implements Rng {
  // State in a typed array: words beyond V8's small-integer range would be boxed in object fields,
  // an allocation per draw. Cell 4 holds the last output, see #step.
  readonly #s = new Uint32Array(5);

  constructor(seed: number) {
    let s = seed >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    const st = this.#s;
    for (let i = 0; i < 4; i++) st[i] = next();
    if ((st[0]! | st[1]! | st[2]! | st[3]!) === 0) st[0] = 1;
  }

  nextUint32(): number {
    this.#step();
    return this.#s[4]!;
  }

  below(bound: number): number {
    // The word goes through the state array, not a return value: a word of 2^30 or more returned
    // from a call V8 did not inline is boxed, and whether it inlines varies from process to
    // process (bench:balance saw 8 bytes a pick in some runs of p2c). The remainder is small.
    this.#step();
    return this.#s[4]! % bound;
  }

  /** One xoshiro128** step; its output in #s[4]. */
  #step(): void {
    const st = this.#s;
    const b = st[1]!;
    st[4] = Math.imul(rotl(Math.imul(b, 5), 7), 9);
    const t = b << 9;
    st[2]! ^= st[0]!;
    st[3]! ^= b;
    st[1]! ^= st[2]!;
    st[0]! ^= st[3]!;
    st[2]! ^= t;
    st[3] = rotl(st[3]!, 11);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

export function seededRng(seed: number): Rng {
  return new Xoshiro128(seed);
}

/** An Rng seeded from the operating system: for production, where picks must not be predictable. */
export function entropyRng(): Rng {
  return new Xoshiro128(randomBytes(4).readUInt32LE(0));
}
