import { describe, expect, it } from 'vitest';
import { Prng } from './prng.ts';

describe('Prng', () => {
  it('is a pure function of its seed', () => {
    const a = new Prng(1234);
    const b = new Prng(1234);
    const xs = Array.from({ length: 100 }, () => a.u32());
    expect(Array.from({ length: 100 }, () => b.u32())).toEqual(xs);
    expect(new Prng(1235).u32()).not.toBe(xs[0]);
  });

  it('int(n) stays in [0, n) and covers it roughly evenly', () => {
    const r = new Prng(7);
    const counts = new Array(10).fill(0);
    for (let i = 0; i < 20_000; i++) counts[r.int(10)]++;
    for (const c of counts) expect(c).toBeGreaterThan(1700);
    for (const c of counts) expect(c).toBeLessThan(2300);
  });

  it('forks independent streams deterministically', () => {
    const a = new Prng(99).fork();
    const b = new Prng(99).fork();
    expect(a.u32()).toBe(b.u32());
    const parent = new Prng(99);
    const child = parent.fork();
    expect(child.u32()).not.toBe(parent.u32());
  });

  it('shuffle is a permutation', () => {
    const xs = Array.from({ length: 50 }, (_, i) => i);
    const ys = new Prng(3).shuffle([...xs]);
    expect([...ys].sort((p, q) => p - q)).toEqual(xs);
    expect(ys).not.toEqual(xs);
  });
});
