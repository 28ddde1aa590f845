/**
 * A small seeded PRNG (xoshiro128**, seeded through splitmix32) whose whole state is four uint32s,
 * so it serializes into `loader.state()` and gives the same sequence on every machine and Node
 * version (only 32-bit integer ops: `Math.imul`, shifts, `>>> 0`).
 */

/** Mixes 32-bit words into one well-spread uint32 (splitmix32 finalizer over each word). */
export function hash32(...words: number[]): number {
  let h = 0x9e3779b9;
  for (const w of words) {
    h = (h + Math.imul((w >>> 0) ^ 0x85ebca6b, 0x9e3779b1)) >>> 0;
    h = Math.imul(h ^ (h >>> 16), 0x21f0aaad);
    h = Math.imul(h ^ (h >>> 15), 0x735a2d97);
    h = (h ^ (h >>> 15)) >>> 0;
  }
  return h;
}

/** Seed → uint32: integers keep their low 32 bits and high bits mixed in; strings are hashed. */
export function seedWord(seed: number | string): number {
  if (typeof seed === "string") {
    let h = 0x811c9dc5;
    for (let i = 0; i < seed.length; i++) h = Math.imul(h ^ seed.charCodeAt(i), 0x01000193);
    return h >>> 0;
  }
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be an integer or a string, got ${seed}`);
  return hash32(seed >>> 0, Math.floor(seed / 2 ** 32) >>> 0);
}

/** Serializable PRNG state. */
export type RngState = [number, number, number, number];

/** xoshiro128**: fast, 2^128-1 period, good enough for shuffles (not for cryptography). */
export class Rng {
  private s: Uint32Array;

  /** From a seed and any number of stream words (epoch, rank...): each combination is its own stream. */
  constructor(seed: number, ...stream: number[]) {
    this.s = new Uint32Array(4);
    let h = hash32(seed, ...stream);
    for (let i = 0; i < 4; i++) {
      h = hash32(h, i);
      this.s[i] = h;
    }
    if ((this.s[0]! | this.s[1]! | this.s[2]! | this.s[3]!) === 0) this.s[0] = 1;
  }

  /** Restores a generator from {@link Rng.state}. */
  static from(state: RngState): Rng {
    const r = new Rng(0);
    r.s.set(state);
    return r;
  }

  /** The four state words. */
  state(): RngState {
    return [this.s[0]!, this.s[1]!, this.s[2]!, this.s[3]!];
  }

  /** Next uint32. */
  nextU32(): number {
    const s = this.s;
    let s0 = s[0]!;
    let s1 = s[1]!;
    let s2 = s[2]!;
    let s3 = s[3]!;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
    s[0] = s0;
    s[1] = s1;
    s[2] = s2;
    s[3] = s3;
    return result;
  }

  /** Uniform float in [0, 1) with 32 bits of randomness. */
  nextFloat(): number {
    return this.nextU32() / 4294967296;
  }

  /** Unbiased integer in [0, n) for 1 ≤ n ≤ 2^32 (rejection sampling on the top range). */
  below(n: number): number {
    if (n <= 1) return 0;
    const limit = 4294967296 - (4294967296 % n);
    for (;;) {
      const x = this.nextU32();
      if (x < limit) return x % n;
    }
  }

  /** In-place Fisher–Yates shuffle. */
  shuffle<T>(a: T[]): T[] {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.below(i + 1);
      const t = a[i]!;
      a[i] = a[j]!;
      a[j] = t;
    }
    return a;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
