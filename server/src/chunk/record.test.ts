import { AssertionError, type ChunkIdHex, KisekiError, type TenantId } from '@kiseki/proto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BlockBitmap } from '../block/index.ts';
import { ByteBudget } from './byte-budget.ts';
import { reconcileBitmap } from './reconcile.ts';
import {
  decodeIndexKey,
  decodeIndexRecord,
  encodeIndexRecord,
  INDEX_RECORD_BYTES,
  type IndexRecord,
  indexKey,
  tenantKeyRange,
} from './record.ts';

const SAMPLE: IndexRecord = {
  offsetBytes: 4096 * 1234,
  lengthBytes: 1048656,
  crc32c: 0xdeadbeef,
  createdAtMs: 1_700_000_000_000,
  lastTouchedMs: 1_700_000_123_456,
};
// Golden fixture: index record format version 1. Changing it is a format change (new version).
const GOLDEN_V1 =
  '010000005000100000204d0000000000efbeadde000000000068e5cf8b010000404ae7cf8b01000000000000bc667c2c';

describe('index record v1', () => {
  it('encodes to the golden bytes and back', () => {
    const b = encodeIndexRecord(SAMPLE);
    expect(b.length).toBe(INDEX_RECORD_BYTES);
    expect(b.toString('hex')).toBe(GOLDEN_V1);
    expect(decodeIndexRecord(Buffer.from(GOLDEN_V1, 'hex'), 'x')).toEqual(SAMPLE);
  });

  it('detects any flipped bit (KISEKI_E_CORRUPT)', () => {
    const good = Buffer.from(GOLDEN_V1, 'hex');
    for (let bit = 0; bit < good.length * 8; bit++) {
      const bad = Buffer.from(good);
      bad[bit >> 3]! ^= 1 << (bit & 7);
      expect(() => decodeIndexRecord(bad, 'x'), `bit ${bit}`).toThrow(KisekiError);
    }
  });

  it('keys sort by tenant and a tenant range holds exactly its keys', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('a', 'a-b', 'a0', 'ab', 'b', 'z9'),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.constantFrom('a', 'a-b', 'a0', 'ab', 'b', 'z9'),
        (t, raw, probe) => {
          const id = Buffer.from(raw).toString('hex') as ChunkIdHex;
          const k = indexKey(t as TenantId, id);
          expect(decodeIndexKey(k)).toEqual({ tenant: t, chunkId: id });
          const { start, end } = tenantKeyRange(probe as TenantId);
          const inRange = Buffer.compare(k, start) >= 0 && Buffer.compare(k, end) < 0;
          expect(inRange).toBe(t === probe);
        },
      ),
    );
  });
});

describe('reconcileBitmap', () => {
  it('reports leaked and unmarked runs, and asserts on overlapping index entries', () => {
    const bm = new BlockBitmap(64);
    bm.markUsed({ start: 0, count: 10 });
    bm.markUsed({ start: 20, count: 5 });
    const r = reconcileBitmap(bm, [
      { extent: { start: 0, count: 8 }, what: 'a' },
      { extent: { start: 30, count: 2 }, what: 'b' },
    ]);
    expect(r).toMatchObject({
      leaked: [
        { start: 8, count: 2 },
        { start: 20, count: 5 },
      ],
      unmarked: [{ start: 30, count: 2 }],
      leakedBlocks: 7,
      unmarkedBlocks: 2,
      chunks: 2,
    });
    expect(() =>
      reconcileBitmap(bm, [
        { extent: { start: 0, count: 8 }, what: 'a' },
        { extent: { start: 7, count: 2 }, what: 'b' },
      ]),
    ).toThrow(AssertionError);
  });
});

describe('ByteBudget', () => {
  it('admits FIFO within the bound, admits an oversize request alone, and honours abort', async () => {
    const b = new ByteBudget(100);
    await b.acquire(60);
    const order: string[] = [];
    const second = b.acquire(60).then(() => order.push('second'));
    const third = b.acquire(10).then(() => order.push('third')); // fits, but FIFO keeps it behind
    const ac = new AbortController();
    const aborted = b.acquire(10, ac.signal);
    ac.abort(new KisekiError('KISEKI_E_TIMEOUT', 'gave up'));
    await expect(aborted).rejects.toThrow('gave up');
    expect(order).toEqual([]);
    b.release(60);
    await Promise.all([second, third]);
    expect(order).toEqual(['second', 'third']);
    b.release(70);
    await b.acquire(500); // larger than the whole budget: admitted when nothing else is held
    expect(b.bytesInUse).toBe(500);
  });
});
