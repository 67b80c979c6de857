import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Seq } from '@kiseki/proto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Wal, type WalOptions } from './wal.ts';

type Op =
  | { kind: 'append'; sizes: number[][] }
  | { kind: 'read'; from: number; span: number; maxBytes: number }
  | { kind: 'prefix'; at: number }
  | { kind: 'suffix'; at: number }
  | { kind: 'reopen' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('append' as const),
      sizes: fc.array(fc.array(fc.nat(120), { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 6 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('read' as const),
      from: fc.nat(1000),
      span: fc.nat(40),
      maxBytes: fc.nat(800),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('prefix' as const), at: fc.nat(1000) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('suffix' as const), at: fc.nat(1000) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reopen' as const) }) },
);

describe('Wal against a model', () => {
  it('I-L1/I-L3: any mix of concurrent appends, reads, compaction, suffix truncation and reopen matches an in-memory log', async () => {
    let counter = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(opArb, { minLength: 1, maxLength: 25 }),
        fc.nat(2),
        async (ops, cacheMode) => {
          const dir = await mkdtemp(join(tmpdir(), 'kiseki-walmodel-'));
          const opts: WalOptions = {
            segment_bytes_max: 400,
            tail_cache_bytes_max: [0, 300, 1 << 20][cacheMode]!,
          };
          let wal = await Wal.open(dir, opts);
          const model = new Map<number, Buffer>();
          let first = 1;
          let last = 0;
          try {
            for (const op of ops) {
              if (op.kind === 'append') {
                const batches = op.sizes.map((sz) => sz.map((n) => Buffer.alloc(n, ++counter & 0xff)));
                const acks = await Promise.all(batches.map((b) => wal.append(b)));
                acks.forEach((seqs, i) => {
                  expect(seqs.length).toBe(batches[i]!.length);
                  seqs.forEach((seq, j) => {
                    expect(seq).toBe(++last);
                    model.set(seq, batches[i]![j]!);
                  });
                });
              } else if (op.kind === 'read') {
                const from = last === 0 ? 1 : first + (op.from % (last - first + 2));
                const to = from + op.span;
                const got = await wal.read(from as Seq, to as Seq, op.maxBytes);
                const want: number[] = [];
                let bytes = 0;
                for (let s = from; s <= Math.min(to, last); s++) {
                  const n = model.get(s)!.length;
                  if (want.length > 0 && bytes + n > op.maxBytes) break;
                  bytes += n;
                  want.push(s);
                }
                expect(got.map((e) => e.seq)).toEqual(want);
                for (const e of got) expect(Buffer.from(e.payload).equals(model.get(e.seq)!)).toBe(true);
              } else if (op.kind === 'prefix') {
                const upto = Math.min(last, first - 1 + (op.at % (last - first + 2)));
                const removed = await wal.truncatePrefix(upto as Seq);
                expect(removed).toBeLessThanOrEqual(upto);
                expect(removed).toBeGreaterThanOrEqual(first - 1);
                for (let s = first; s <= removed; s++) model.delete(s);
                first = removed + 1;
              } else if (op.kind === 'suffix') {
                const from = first + (op.at % (last - first + 2));
                await wal.truncateSuffix(from as Seq);
                for (let s = from; s <= last; s++) model.delete(s);
                last = from - 1;
              } else {
                await wal.close();
                wal = await Wal.open(dir, opts);
                expect(wal.recovery.outcome).toBe('clean');
              }
              expect([wal.firstSeq, wal.lastSeq]).toEqual([first, last]);
            }
            await wal.close();
            wal = await Wal.open(dir, opts);
            const all = last >= first ? await wal.read(first as Seq, last as Seq, 1 << 30) : [];
            expect(all.map((e) => e.seq)).toEqual([...model.keys()].sort((a, b) => a - b));
          } finally {
            await wal.close();
            await rm(dir, { recursive: true, force: true });
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});
