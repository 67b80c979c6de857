import { describe, expect, it } from 'vitest';
import { TailCache } from './tail-cache.ts';

const entry = (seq: number, bytes = 10) => ({ seq, term: 0, payload: new Uint8Array(bytes) });

describe('TailCache', () => {
  it('keeps the newest entries within its byte bound', () => {
    const c = new TailCache(35);
    for (let s = 1; s <= 10; s++) c.push(entry(s));
    expect([c.firstSeq, c.size, c.bytes]).toEqual([8, 3, 30]);
    expect(c.get(7)).toBeUndefined();
    expect(c.get(9)?.seq).toBe(9);
    expect(c.get(11)).toBeUndefined();
  });

  it('drops prefixes and suffixes, and asserts density', () => {
    const c = new TailCache(1000);
    for (let s = 1; s <= 5000; s++) c.push(entry(s, 0));
    c.dropBefore(4990);
    expect(c.firstSeq).toBe(4990);
    c.dropFrom(4995);
    expect(c.size).toBe(5);
    c.push(entry(4995));
    expect(() => c.push(entry(5000))).toThrow(/invariant/);
    c.dropFrom(1);
    expect(c.firstSeq).toBeUndefined();
    c.push(entry(42));
    expect(c.firstSeq).toBe(42);
  });
});
