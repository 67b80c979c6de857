import { describe, expect, it } from 'vitest';
import { BufferPool } from './buffer-pool.ts';

describe('BufferPool', () => {
  it('reuses a given-back buffer of the same capacity class', () => {
    const pool = new BufferPool(4 * 65536, 65536);
    const a = pool.take(65536 + 80);
    expect(a.length).toBe(65536 + 80);
    expect(a.buffer.byteLength).toBe(2 * 65536);
    pool.give(a);
    expect(pool.pooledBytes).toBe(2 * 65536);
    const b = pool.take(65536 + 1);
    expect(b.buffer).toBe(a.buffer);
    expect(pool.pooledBytes).toBe(0);
  });

  it('keeps at most pooledBytesMax and ignores buffers it did not make', () => {
    const pool = new BufferPool(65536, 65536);
    const a = pool.take(100);
    const b = pool.take(100);
    pool.give(a);
    pool.give(b); // over the bound: dropped
    expect(pool.pooledBytes).toBe(65536);
    pool.give(Buffer.alloc(65536));
    expect(pool.pooledBytes).toBe(65536);
  });

  it('refuses a double give (our bug, not an expected error)', () => {
    const pool = new BufferPool(8 * 65536, 65536);
    const a = pool.take(10);
    pool.give(a);
    expect(() => pool.give(a)).toThrow(/given back once/);
  });
});
