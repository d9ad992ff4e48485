/**
 * A small, fast, seedable pseudo-random number generator. The cohort must be reproducible from
 * its seed alone, so nothing in `src/sandbox/cohort/` calls `Math.random`; every function that
 * needs randomness takes one of these.
 */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform in [min, max). */
  uniform(min: number, max: number): number;
  /** Integer uniform in [min, max] inclusive. */
  int(min: number, max: number): number;
  /** Standard normal draw (mean 0, sd 1). */
  normal(): number;
  /**
   * Cheap approximately normal draw (mean 0, sd 1): the Irwin–Hall sum of the four bytes of one
   * 32-bit output. Bounded at ±3.46; for sensor and pixel noise in hot loops, not for statistics.
   */
  approxNormal(): number;
  /** True with probability `p`. */
  chance(p: number): boolean;
  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T;
  /** A new independent generator derived from this one's stream (for sub-tasks such as pixels). */
  fork(): Rng;
}

/**
 * sfc32 (Chris Doty-Humphrey's Small Fast Chaotic PRNG, 128-bit state), seeded through
 * splitmix32 so that nearby seeds give unrelated streams. Chosen because it passes PractRand and
 * runs on 32-bit integer ops only, which V8 keeps unboxed.
 */
export function createRng(seed: number, stream = 0): Rng {
  let s = (Math.imul(seed | 0, 0x9e3779b1) ^ Math.imul(stream | 0, 0x85ebca6b)) >>> 0;
  const splitmix = (): number => {
    s = (s + 0x9e3779b9) | 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix();
  let b = splitmix();
  let c = splitmix();
  let d = splitmix();
  const nextU32 = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  // Discard the first outputs: sfc32 mixes its state during the first few rounds.
  for (let i = 0; i < 12; i++) nextU32();
  let spareNormal: number | undefined;
  const rng: Rng = {
    next: () => nextU32() / 4294967296,
    uniform: (min, max) => min + (max - min) * (nextU32() / 4294967296),
    int: (min, max) => min + Math.floor((nextU32() / 4294967296) * (max - min + 1)),
    normal: () => {
      if (spareNormal !== undefined) {
        const v = spareNormal;
        spareNormal = undefined;
        return v;
      }
      // Marsaglia polar method: two normals per accepted pair, no trigonometry.
      let u = 0;
      let v = 0;
      let q = 0;
      do {
        u = (nextU32() / 4294967296) * 2 - 1;
        v = (nextU32() / 4294967296) * 2 - 1;
        q = u * u + v * v;
      } while (q >= 1 || q === 0);
      const m = Math.sqrt((-2 * Math.log(q)) / q);
      spareNormal = v * m;
      return u * m;
    },
    approxNormal: () => {
      const x = nextU32();
      // Sum of 4 uniform bytes: mean 510, variance 4 × (256² − 1) / 12.
      return ((x & 0xff) + ((x >>> 8) & 0xff) + ((x >>> 16) & 0xff) + (x >>> 24) - 510) / 147.8;
    },
    chance: (p) => nextU32() / 4294967296 < p,
    pick: <T>(items: readonly T[]): T => {
      if (items.length === 0) throw new RangeError('pick() needs a non-empty array');
      return items[Math.floor((nextU32() / 4294967296) * items.length)] as T;
    },
    fork: () => createRng(nextU32(), nextU32()),
  };
  return rng;
}
