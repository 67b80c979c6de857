import { AssertionError } from '@kiseki/proto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BlockBitmap, type Extent } from './bitmap.ts';

function overlaps(a: Extent, b: Extent): boolean {
  return a.start < b.start + b.count && b.start < a.start + a.count;
}

describe('BlockBitmap', () => {
  it('allocates next-fit, frees and coalesces', () => {
    const bm = new BlockBitmap(100, { pageBytes: 4 });
    const a = bm.allocate(10)!;
    const b = bm.allocate(20)!;
    const c = bm.allocate(5)!;
    expect([a, b, c]).toEqual([
      { start: 0, count: 10 },
      { start: 10, count: 20 },
      { start: 30, count: 5 },
    ]);
    expect(bm.usedBlocks).toBe(35);
    bm.free(b);
    expect(bm.freeExtents()).toEqual([
      { start: 10, count: 20 },
      { start: 35, count: 65 },
    ]);
    bm.free(a);
    bm.free(c);
    expect(bm.freeExtents()).toEqual([{ start: 0, count: 100 }]);
    expect(bm.usedBlocks).toBe(0);
    bm.checkInvariants();
  });

  it('returns undefined when no extent is large enough (fragmentation)', () => {
    const bm = new BlockBitmap(10);
    const ex = Array.from({ length: 10 }, () => bm.allocate(1)!);
    for (const e of ex.filter((_, i) => i % 2 === 0)) bm.free(e);
    expect(bm.freeBlocks).toBe(5);
    expect(bm.allocate(2)).toBeUndefined();
    expect(bm.allocate(1)).toBeDefined();
  });

  it('I-C8: asserts on double allocation and double free without changing state', () => {
    const bm = new BlockBitmap(64);
    const e = bm.allocate(8)!;
    expect(() => bm.markUsed({ start: 4, count: 8 })).toThrow(AssertionError);
    bm.free(e);
    expect(() => bm.free(e)).toThrow(AssertionError);
    const r = bm.reserve(4)!;
    expect(() => bm.markUsed(r)).toThrow(AssertionError);
    expect(() => bm.release({ start: r.start, count: 3 })).toThrow(AssertionError);
    expect(() => bm.retire(r)).toThrow(AssertionError);
    expect(() => bm.allocate(0)).toThrow(AssertionError);
    expect(() => bm.isUsed(64)).toThrow(AssertionError);
    bm.checkInvariants();
  });

  it('serializes dirty pages only for bit changes, and past-the-end bits stay zero', () => {
    const bm = new BlockBitmap(100, { pageBytes: 2 }); // 16 blocks per page, 7 pages
    expect(bm.pageCount).toBe(7);
    const r = bm.reserve(20)!;
    expect(bm.dirtyPageNumbers()).toEqual([]);
    bm.commitReserved(r);
    expect(bm.dirtyPageNumbers()).toEqual([0, 1]);
    const pages = bm.takeDirtyPages();
    expect(pages.map((p) => Buffer.from(p.bytes).toString('hex'))).toEqual(['ffff', '0f00']);
    expect(bm.dirtyPageNumbers()).toEqual([]);
    expect(() =>
      BlockBitmap.fromPages(100, (p) => (p === 6 ? Uint8Array.of(0, 0x10) : undefined), { pageBytes: 2 }),
    ).toThrow(AssertionError);
  });

  type Op =
    | { kind: 'reserve' | 'allocate'; count: number }
    | { kind: 'release' | 'commit' | 'retire' | 'free'; pick: number }
    | { kind: 'markUsed'; start: number; count: number }
    | { kind: 'persist' };

  const BLOCKS = 300;
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    fc.record({
      kind: fc.constantFrom('reserve' as const, 'allocate' as const),
      count: fc.integer({ min: 1, max: 40 }),
    }),
    fc.record({
      kind: fc.constantFrom('release' as const, 'commit' as const, 'retire' as const, 'free' as const),
      pick: fc.nat(),
    }),
    fc.record({
      kind: fc.constant('markUsed' as const),
      start: fc.nat(BLOCKS - 1),
      count: fc.integer({ min: 1, max: 20 }),
    }),
    fc.constant({ kind: 'persist' as const }),
  );

  it('I-C8 (property): never hands out overlapping extents; counts, persisted pages and rebuild agree with the live state', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 200 }), fc.constantFrom(1, 3, 8), (ops, pageBytes) => {
        const bm = new BlockBitmap(BLOCKS, { pageBytes });
        const used: Extent[] = []; // model: USED extents
        const reserved: Extent[] = []; // model: RESERVED extents
        const persisted = new Map<number, Uint8Array>(); // what an owner would have written
        const take = (list: Extent[], pick: number) => list.splice(pick % list.length, 1)[0]!;
        for (const op of ops) {
          switch (op.kind) {
            case 'reserve':
            case 'allocate': {
              const e = op.kind === 'reserve' ? bm.reserve(op.count) : bm.allocate(op.count);
              if (e === undefined) {
                expect(bm.largestFreeExtent()).toBeLessThan(op.count);
                break;
              }
              expect(e.count).toBe(op.count);
              for (const o of [...used, ...reserved]) expect(overlaps(e, o)).toBe(false);
              (op.kind === 'reserve' ? reserved : used).push(e);
              break;
            }
            case 'release':
            case 'commit':
              if (reserved.length > 0) {
                const e = take(reserved, op.pick);
                if (op.kind === 'release') bm.release(e);
                else {
                  bm.commitReserved(e);
                  used.push(e);
                }
              }
              break;
            case 'retire':
            case 'free':
              if (used.length > 0) {
                const e = take(used, op.pick);
                if (op.kind === 'retire') {
                  bm.retire(e);
                  reserved.push(e);
                } else bm.free(e);
              }
              break;
            case 'markUsed': {
              const e = { start: op.start, count: Math.min(op.count, BLOCKS - op.start) };
              const busy = [...used, ...reserved].some((o) => overlaps(e, o));
              if (busy) expect(() => bm.markUsed(e)).toThrow(AssertionError);
              else {
                bm.markUsed(e);
                used.push(e);
              }
              break;
            }
            case 'persist':
              for (const p of bm.takeDirtyPages()) persisted.set(p.page, p.bytes);
              break;
          }
        }
        bm.checkInvariants();
        const sum = (l: Extent[]) => l.reduce((n, e) => n + e.count, 0);
        expect(bm.usedBlocks).toBe(sum(used));
        expect(bm.reservedBlocks).toBe(sum(reserved));
        expect(bm.freeBlocks).toBe(BLOCKS - sum(used) - sum(reserved));
        for (const e of used) expect(bm.isRangeUsed(e)).toBe(true);
        for (const e of reserved) expect(bm.isRangeClear(e)).toBe(true);

        // Dirty tracking: the pages persisted so far plus the dirty ones equal a full serialization.
        for (const p of bm.takeDirtyPages()) persisted.set(p.page, p.bytes);
        for (let p = 0; p < bm.pageCount; p++) {
          expect(Buffer.from(persisted.get(p) ?? new Uint8Array(pageBytes)).equals(bm.page(p))).toBe(true);
        }
        // Rebuild from the persisted pages (I-C8): same bits; its free list is the live free
        // list plus the reservations (which are not persisted state).
        const rebuilt = BlockBitmap.fromPages(BLOCKS, (p) => persisted.get(p), { pageBytes });
        rebuilt.checkInvariants();
        expect(rebuilt.usedBlocks).toBe(bm.usedBlocks);
        for (const e of reserved) bm.release(e);
        expect(rebuilt.freeExtents()).toEqual(bm.freeExtents());
      }),
      { numRuns: 300 },
    );
  });
});
