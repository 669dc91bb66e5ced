/**
 * A small seeded pseudo-random generator (mulberry32) so that a simulated world, its
 * traffic and chaos faults repeat exactly for the same seed.
 */

/**
 * Deterministic random numbers from a 32-bit seed.
 *
 * @example
 * const rng = new Random(42);
 * rng.int(0, 10); // the same value on every run with seed 42
 */
export class Random {
  #state: number;
  readonly #seed: number;

  /** @param seed - any number; its integer part (mod 2^32) seeds the generator. */
  constructor(seed: number) {
    this.#seed = Math.trunc(seed) >>> 0;
    this.#state = this.#seed;
  }

  /** A float in [0, 1). */
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max). */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min));
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('Random.pick needs a non-empty array');
    return items[this.int(0, items.length)] as T;
  }

  /** One key of `weights`, chosen with probability proportional to its weight. */
  weighted<K extends string>(weights: Readonly<Record<K, number>>): K {
    const entries = Object.entries(weights) as [K, number][];
    const total = entries.reduce((sum, [, w]) => sum + w, 0);
    let roll = this.next() * total;
    for (const [key, w] of entries) {
      roll -= w;
      if (roll < 0) return key;
    }
    const last = entries[entries.length - 1];
    if (last === undefined) throw new RangeError('Random.weighted needs at least one weight');
    return last[0];
  }

  /** A new generator whose sequence depends on this one's seed and `salt`, not on draws made since. */
  fork(salt: number): Random {
    return new Random(Math.imul(this.#seed ^ salt, 0x9e3779b1) ^ (salt >>> 16));
  }
}
