/**
 * A seeded PRNG for reproducible test workloads: the same seed gives the same sequence on every
 * machine, so a failure is replayed from the seed the test printed.
 */

/** mulberry32: 32-bit state, period 2^32, good enough to drive workloads. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Rng {
  readonly #next: () => number;
  constructor(readonly seed: number) {
    this.#next = mulberry32(seed);
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.#next();
  }

  /** Uniform integer in [lo, hi] (both inclusive). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.#next() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.#next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[Math.floor(this.#next() * items.length)]!;
  }

  /** One key of `weights`, chosen with probability proportional to its weight. */
  weighted<K extends string>(weights: Readonly<Record<K, number>>): K {
    const entries = Object.entries(weights) as Array<[K, number]>;
    const total = entries.reduce((s, [, w]) => s + w, 0);
    let r = this.#next() * total;
    for (const [k, w] of entries) {
      r -= w;
      if (r < 0) return k;
    }
    return entries.at(-1)![0];
  }

  /** `n` bytes: pseudo-random, or (sometimes) a repeated byte so equal blocks recur (dedup). */
  bytes(n: number): Buffer {
    const out = Buffer.alloc(n);
    if (n === 0) return out;
    if (this.chance(0.1)) return out.fill(this.int(0, 255));
    const words = Math.floor(n / 4);
    for (let i = 0; i < words; i++) out.writeUInt32LE(Math.floor(this.#next() * 4294967296), i * 4);
    for (let i = words * 4; i < n; i++) out[i] = this.int(0, 255);
    return out;
  }
}
