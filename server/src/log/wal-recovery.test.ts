import { randomBytes } from 'node:crypto';
import { copyFile, mkdtemp, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Seq } from '@kiseki/proto';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Wal } from './wal.ts';
import { encodeWalRecord } from './wal-record.ts';
import { formatWalRecovery, segmentFileName } from './wal-recovery.ts';

const SEGMENT_BYTES_MAX = 1000;
const s = (n: number) => n as Seq;
/** Payload of record `seq`: length varies so records have different sizes. */
const payloadOf = (seq: number): Buffer => Buffer.from(`delta-${seq}-${'x'.repeat((seq * 7) % 60)}`);

/** A log of `count` records written one append at a time, in a fresh directory. */
async function makeLog(dir: string, count: number): Promise<void> {
  const wal = await Wal.open(dir, { segment_bytes_max: SEGMENT_BYTES_MAX });
  for (let seq = 1; seq <= count; seq++) await wal.append([payloadOf(seq)]);
  await wal.close();
}

async function segments(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.endsWith('.wal')).sort();
}

/** Record start offsets in a segment file that holds records firstSeq.. */
function recordStarts(bytes: Buffer, firstSeq: number): number[] {
  const starts: number[] = [];
  let off = 0;
  let seq = firstSeq;
  while (off < bytes.length) {
    starts.push(off);
    off += 28 + payloadOf(seq).length;
    seq++;
  }
  expect(off).toBe(bytes.length);
  return starts;
}

let base: string;
let baseSegments: string[];
const dirs: string[] = [];

async function freshDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'kiseki-walrec-'));
  dirs.push(d);
  return d;
}

/** A copy of the base log (3 segments, 40 records). */
async function copyOfBase(): Promise<string> {
  const d = await freshDir();
  for (const f of baseSegments) await copyFile(join(base, f), join(d, f));
  return d;
}

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'kiseki-walbase-'));
  await makeLog(base, 40);
  baseSegments = await segments(base);
  expect(baseSegments.length).toBeGreaterThanOrEqual(3);
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});
beforeEach(() => {
  dirs.length = 0;
});
afterEach(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('WAL recovery', () => {
  it('I-L2: a torn tail at any cut point, with garbage or zero fill after it, is cut back to the last full record and reported', async () => {
    const lastName = baseSegments[baseSegments.length - 1]!;
    const lastFirstSeq = Number(lastName.slice(0, 20));
    const original = await readFile(join(base, lastName));
    const starts = recordStarts(original, lastFirstSeq);
    const ends = [...starts.slice(1), original.length];
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: original.length }),
        fc.oneof(
          fc.constant(Buffer.alloc(0)),
          fc.integer({ min: 1, max: 5000 }).map((n) => Buffer.alloc(n)),
          fc.uint8Array({ minLength: 1, maxLength: 300 }).map((a) => Buffer.from(a)),
        ),
        async (cut, tail) => {
          const d = await freshDir();
          for (const f of baseSegments.slice(0, -1)) await copyFile(join(base, f), join(d, f));
          await writeFile(join(d, lastName), Buffer.concat([original.subarray(0, cut), tail]));
          const whole = ends.filter((e) => e <= cut).length; // records fully before the cut
          const boundary = whole === 0 ? 0 : ends[whole - 1]!;
          const expectLast = lastFirstSeq + whole - 1;

          const wal = await Wal.open(d, { segment_bytes_max: SEGMENT_BYTES_MAX });
          try {
            const dropped = cut - boundary + tail.length;
            expect(wal.lastSeq).toBe(expectLast);
            expect(wal.recovery.lastSeq).toBe(expectLast);
            expect(wal.recovery.truncatedBytes).toBe(dropped);
            expect(wal.recovery.outcome).toBe(dropped === 0 ? 'clean' : 'torn-tail');
            if (dropped > 0) {
              expect(formatWalRecovery(wal.recovery)).toContain(
                `dropped ${dropped} bytes of torn tail after seq ${expectLast}`,
              );
            }
            // Every record before the cut is intact; appends continue with the next seq.
            const all = await wal.read(s(1), s(expectLast), 1 << 30);
            expect(all.length).toBe(expectLast);
            expect(Buffer.from(all[all.length - 1]!.payload)).toEqual(payloadOf(expectLast));
            expect(await wal.append([Buffer.from('next')])).toEqual([expectLast + 1]);
          } finally {
            await wal.close();
          }
          const again = await Wal.open(d, { segment_bytes_max: SEGMENT_BYTES_MAX });
          expect(again.recovery.outcome).toBe('clean');
          expect(again.lastSeq).toBe(expectLast + 1);
          await again.close();
          await rm(d, { recursive: true, force: true });
        },
      ),
      { numRuns: 120 },
    );
  });

  it('I-L2: a torn first record of a freshly rolled segment leaves an empty active segment', async () => {
    const d = await copyOfBase();
    await writeFile(join(d, segmentFileName(41)), encodeWalRecord(41, 0, payloadOf(41)).subarray(0, 20));
    const wal = await Wal.open(d, { segment_bytes_max: SEGMENT_BYTES_MAX });
    expect(wal.recovery).toMatchObject({
      outcome: 'torn-tail',
      reason: 'short-header',
      lastSeq: 40,
      truncatedBytes: 20,
    });
    expect(await wal.append([Buffer.from('x')])).toEqual([41]);
    await wal.close();
  });

  it('I-L3: a bit flip in a non-last record of the last segment is KISEKI_E_CORRUPT naming the file; repair cuts there', async () => {
    const d = await copyOfBase();
    const lastName = baseSegments[baseSegments.length - 1]!;
    const first = Number(lastName.slice(0, 20));
    const bytes = await readFile(join(d, lastName));
    const starts = recordStarts(bytes, first);
    bytes[starts[1]! + 30]! ^= 0x04; // payload of the 2nd record; valid records follow
    await writeFile(join(d, lastName), bytes);
    const err = await Wal.open(d).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'KISEKI_E_CORRUPT' });
    expect((err as Error).message).toContain(join(d, lastName));
    expect((err as Error).message).toContain(`offset ${starts[1]}`);
    expect((err as Error).message).toContain('followed by a valid record');

    const wal = await Wal.open(d, { repair: true, segment_bytes_max: SEGMENT_BYTES_MAX });
    expect(wal.recovery).toMatchObject({
      outcome: 'repaired',
      reason: 'bad-crc',
      lastSeq: first,
      truncatedBytes: bytes.length - starts[1]!,
      file: join(d, lastName),
      offset: starts[1],
    });
    expect(await wal.append([Buffer.from('after repair')])).toEqual([first + 1]);
    await wal.close();
  });

  it('I-L3: a damaged length field mid-segment is corruption, not a torn tail', async () => {
    const d = await copyOfBase();
    const lastName = baseSegments[baseSegments.length - 1]!;
    const bytes = await readFile(join(d, lastName));
    const starts = recordStarts(bytes, Number(lastName.slice(0, 20)));
    bytes.writeUInt32LE(0xffff, starts[0]! + 4); // claims to run past the end of the file
    await writeFile(join(d, lastName), bytes);
    await expect(Wal.open(d)).rejects.toMatchObject({ code: 'KISEKI_E_CORRUPT' });
  });

  it('I-L3: damage in a non-last segment is KISEKI_E_CORRUPT; repair cuts there and deletes later segments', async () => {
    const d = await copyOfBase();
    const name = baseSegments[0]!;
    const bytes = await readFile(join(d, name));
    const starts = recordStarts(bytes, 1);
    const k = starts.length - 1; // even the segment's LAST record is not a torn tail
    bytes[starts[k]! + 12]! ^= 0x80; // seq field
    await writeFile(join(d, name), bytes);
    await expect(Wal.open(d)).rejects.toMatchObject({
      code: 'KISEKI_E_CORRUPT',
      message: expect.stringContaining(join(d, name)),
    });
    const later = baseSegments.slice(1);
    let laterBytes = 0;
    for (const f of later) laterBytes += (await readFile(join(d, f))).length;
    const wal = await Wal.open(d, { repair: true, segment_bytes_max: SEGMENT_BYTES_MAX });
    expect(wal.recovery).toMatchObject({
      outcome: 'repaired',
      lastSeq: k,
      segmentsRemoved: later.length,
      truncatedBytes: bytes.length - starts[k]! + laterBytes,
    });
    expect(await segments(d)).toEqual([name]);
    await wal.close();
  });

  it('I-L1: a gap in seqs between segments is KISEKI_E_CORRUPT; repair drops from the gap on', async () => {
    const d = await copyOfBase();
    await unlink(join(d, baseSegments[1]!));
    await expect(Wal.open(d)).rejects.toMatchObject({
      code: 'KISEKI_E_CORRUPT',
      message: expect.stringContaining(baseSegments[2]!),
    });
    const wal = await Wal.open(d, { repair: true });
    const lastOfFirst = Number(baseSegments[1]!.slice(0, 20)) - 1;
    expect(wal.recovery).toMatchObject({ outcome: 'repaired', reason: 'segment-gap', lastSeq: lastOfFirst });
    expect(wal.lastSeq).toBe(lastOfFirst);
    await wal.close();
  });

  it('I-L1: a valid record with an out-of-order seq at the end is corruption, not a torn tail', async () => {
    const d = await copyOfBase();
    const lastName = baseSegments[baseSegments.length - 1]!;
    const bytes = await readFile(join(d, lastName));
    await writeFile(join(d, lastName), Buffer.concat([bytes, encodeWalRecord(99, 0, Buffer.from('stray'))]));
    await expect(Wal.open(d)).rejects.toMatchObject({ code: 'KISEKI_E_CORRUPT' });
    const wal = await Wal.open(d, { repair: true });
    expect(wal.recovery).toMatchObject({ outcome: 'repaired', reason: 'seq-mismatch', lastSeq: 40 });
    await wal.close();
  });

  it('random garbage never opens with a record that was not written', async () => {
    const d = await freshDir();
    await writeFile(join(d, segmentFileName(1)), randomBytes(4096));
    const wal = await Wal.open(d);
    expect(wal.lastSeq).toBe(0);
    expect(wal.recovery).toMatchObject({ outcome: 'torn-tail', truncatedBytes: 4096 });
    await wal.close();
  });
});
