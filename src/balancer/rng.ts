import { randomBytes } from 'node:crypto';

/** Randomness as algorithms see it: injected and seedable. */
export interface Rng {
  /** A uniformly distributed integer in [0, 2^32). */
  nextUint32(): number;
}

/**
 * xoshiro128** (Blackman and Vigna, 2018): four 32-bit words of state, a period of 2^128 - 1 and
 * no allocation per draw, so it can sit on the pick path. Seeded through splitmix32 so that
 * neighbouring seeds give unrelated streams.
 */
export class Xoshiro128 implements Rng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.#a = next();
    this.#b = next();
    this.#c = next();
    this.#d = next();
    if ((this.#a | this.#b | this.#c | this.#d) === 0) this.#a = 1;
  }

  nextUint32(): number {
    const b = this.#b;
    const r = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    this.#c ^= this.#a;
    this.#d ^= b;
    this.#b ^= this.#c;
    this.#a ^= this.#d;
    this.#c ^= t;
    this.#d = rotl(this.#d, 11);
    return r;
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
