import { mkdtemp, open, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Seq } from '@kiseki/proto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Wal, type WalOptions } from './wal.ts';
import { segmentFileName } from './wal-recovery.ts';

let dir: string;
const opened: Wal[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kiseki-wal-'));
});
afterEach(async () => {
  for (const w of opened.splice(0)) await w.close().catch(() => {});
  await rm(dir, { recursive: true, force: true });
});

async function openWal(opts: WalOptions = {}): Promise<Wal> {
  const w = await Wal.open(dir, opts);
  opened.push(w);
  return w;
}

const s = (n: number) => n as Seq;
const payload = (i: number, size = 20): Buffer => {
  const b = Buffer.alloc(size, i & 0xff);
  b.write(`p${i}:`, 0);
  return b;
};

async function segmentFiles(): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.endsWith('.wal')).sort();
}

describe('Wal', () => {
  it('I-L1: round trip — seqs are dense from 1 and records come back exactly', async () => {
    const wal = await openWal();
    expect(wal.lastSeq).toBe(0);
    expect(wal.firstSeq).toBe(1);
    expect(await wal.append([payload(1), payload(2)])).toEqual([1, 2]);
    expect(await wal.append([payload(3)], 0)).toEqual([3]);
    expect(await wal.append([])).toEqual([]);
    expect(wal.lastSeq).toBe(3);
    const got = await wal.read(s(1), s(10));
    expect(got.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(got.map((e) => Buffer.from(e.payload))).toEqual([payload(1), payload(2), payload(3)]);
    expect(await wal.read(s(4), s(10))).toEqual([]);
    expect(await segmentFiles()).toEqual([segmentFileName(1)]);
    expect(wal.recovery.outcome).toBe('clean');
  });

  it('I-L2: reopen finds every acknowledged record; appends continue at the next seq', async () => {
    const a = await openWal();
    for (let i = 1; i <= 50; i++) await a.append([payload(i)]);
    await a.close();
    const b = await openWal();
    expect(b.recovery).toMatchObject({ outcome: 'clean', lastSeq: 50, truncatedBytes: 0 });
    expect(b.lastSeq).toBe(50);
    expect(await b.append([payload(51)])).toEqual([51]);
    const all = await b.read(s(1), s(51));
    expect(all.map((e) => Buffer.from(e.payload))).toEqual(
      Array.from({ length: 51 }, (_, i) => payload(i + 1)),
    );
  });

  it('rolls segments at segment_bytes_max and reads across them, from cache and from disk', async () => {
    const opts = { segment_bytes_max: 500, tail_cache_bytes_max: 0 };
    const a = await openWal(opts);
    // 48-byte records: 10 per 500-byte segment.
    for (let i = 1; i <= 35; i++) await a.append([payload(i)]);
    const files = await segmentFiles();
    expect(files).toEqual([1, 11, 21, 31].map(segmentFileName));
    for (const f of files) expect((await stat(join(dir, f))).size).toBeLessThanOrEqual(500);
    const mid = await a.read(s(8), s(24));
    expect(mid.map((e) => e.seq)).toEqual(Array.from({ length: 17 }, (_, i) => i + 8));
    expect(mid.map((e) => Buffer.from(e.payload))).toEqual(mid.map((e) => payload(e.seq)));
    expect(a.stats.diskReads).toBe(17);
    await a.close();
    const b = await openWal({ segment_bytes_max: 500 });
    expect(b.segmentCount).toBe(4);
    expect((await b.read(s(1), s(35))).map((e) => e.seq)).toEqual(
      Array.from({ length: 35 }, (_, i) => i + 1),
    );
    // A batch that crosses a segment boundary is split there.
    expect(await b.append(Array.from({ length: 12 }, (_, i) => payload(36 + i)))).toHaveLength(12);
    expect(await segmentFiles()).toEqual([1, 11, 21, 31, 41].map(segmentFileName));
    expect((await b.read(s(30), s(47))).map((e) => e.seq)).toEqual(
      Array.from({ length: 18 }, (_, i) => i + 30),
    );
  });

  it('read honours maxBytes but always returns at least one record', async () => {
    const wal = await openWal({ tail_cache_bytes_max: 0 });
    await wal.append([payload(1, 100), payload(2, 100), payload(3, 100)]);
    expect((await wal.read(s(1), s(3), 250)).map((e) => e.seq)).toEqual([1, 2]);
    expect((await wal.read(s(1), s(3), 10)).map((e) => e.seq)).toEqual([1]);
    expect((await wal.read(s(2), s(3), 0)).map((e) => e.seq)).toEqual([2]);
  });

  it('I-L1: 1000 concurrent appends share few fdatasyncs and get dense seqs in call order', async () => {
    const wal = await openWal();
    const before = wal.stats.datasyncs;
    const acks = await Promise.all(Array.from({ length: 1000 }, (_, i) => wal.append([payload(i + 1, 200)])));
    expect(acks).toEqual(Array.from({ length: 1000 }, (_, i) => [i + 1]));
    const syncs = wal.stats.datasyncs - before;
    expect(syncs).toBeGreaterThanOrEqual(1);
    expect(syncs).toBeLessThanOrEqual(5);
    expect(wal.stats.writes).toBe(syncs);
    const got = await wal.read(s(1), s(1000), 1 << 30);
    expect(got.every((e, i) => Buffer.from(e.payload).equals(payload(i + 1, 200)))).toBe(true);
  });

  it('I-L1: appends arriving while a sync is in flight are batched into the next one', async () => {
    let release!: () => void;
    let syncing = 0;
    // Hold the first fdatasync until 100 more appends are queued behind it.
    const hold = new Promise<void>((r) => {
      release = r;
    });
    const w2 = await openWal({
      beforeSync: async (kind) => {
        if (kind !== 'datasync') return;
        syncing++;
        if (syncing === 1) await hold;
      },
    });
    const first = w2.append([payload(1)]);
    await new Promise((r) => setTimeout(r, 5));
    const rest = Array.from({ length: 100 }, (_, i) => w2.append([payload(i + 2)]));
    release();
    expect(await first).toEqual([1]);
    expect((await Promise.all(rest)).flat()).toEqual(Array.from({ length: 100 }, (_, i) => i + 2));
    expect(w2.stats.datasyncs).toBe(2);
    expect(w2.stats.batches).toBe(2);
  });

  it('append waits under pending_bytes_max (backpressure) and its signal aborts the wait', async () => {
    let release!: () => void;
    const hold = new Promise<void>((r) => {
      release = r;
    });
    const wal = await openWal({
      record_bytes_max: 1000,
      pending_bytes_max: 2048,
      beforeSync: (kind) => (kind === 'datasync' ? hold : undefined),
    });
    const a = wal.append([payload(1, 1000)]);
    const b = wal.append([payload(2, 1000)]);
    let cDone = false;
    const c = wal.append([payload(3, 1000)]).then((r) => {
      cDone = true;
      return r;
    });
    const ac = new AbortController();
    const d = wal.append([payload(4, 10)], undefined, ac.signal);
    await new Promise((r) => setTimeout(r, 10));
    expect(cDone).toBe(false);
    ac.abort(new Error('gave up'));
    await expect(d).rejects.toThrow('gave up');
    release();
    expect([await a, await b, await c]).toEqual([[1], [2], [3]]);
    expect(wal.lastSeq).toBe(3); // the aborted append never got a seq
    await expect(wal.append([payload(5, 2000)])).rejects.toMatchObject({ code: 'KISEKI_E_INVAL' });
    await expect(
      wal.append([Buffer.alloc(1000), Buffer.alloc(1000), Buffer.alloc(1000)]),
    ).rejects.toMatchObject({
      code: 'KISEKI_E_INVAL',
    });
  });

  it('rejects payloads over record_bytes_max with KISEKI_E_INVAL and terms that go back', async () => {
    const wal = await openWal({ record_bytes_max: 100 });
    await expect(wal.append([Buffer.alloc(101)])).rejects.toMatchObject({ code: 'KISEKI_E_INVAL' });
    expect(await wal.append([Buffer.alloc(100)], 5)).toEqual([1]);
    await expect(wal.append([Buffer.alloc(1)], 4)).rejects.toMatchObject({ code: 'KISEKI_E_INVAL' });
    expect(await wal.append([Buffer.alloc(1)])).toEqual([2]);
    expect((await wal.read(s(2), s(2)))[0]!.term).toBe(5);
  });

  it('I-L2: a failed fdatasync acks nothing and fails the log closed', async () => {
    let fail = false;
    const wal = await openWal({
      beforeSync: (kind) => {
        if (fail && kind === 'datasync') throw Object.assign(new Error('EIO: i/o error'), { code: 'EIO' });
      },
    });
    await wal.append([payload(1)]);
    fail = true;
    await expect(wal.append([payload(2)])).rejects.toMatchObject({ code: 'KISEKI_E_UNAVAILABLE' });
    await expect(wal.append([payload(3)])).rejects.toMatchObject({ code: 'KISEKI_E_UNAVAILABLE' });
    expect(wal.lastSeq).toBe(1);
    expect((await wal.read(s(1), s(5))).map((e) => e.seq)).toEqual([1]);
  });

  it('I-L3: a record damaged on disk after open fails the read with KISEKI_E_CORRUPT', async () => {
    const wal = await openWal({ tail_cache_bytes_max: 0 });
    await wal.append([payload(1), payload(2), payload(3)]);
    const fh = await open(join(dir, segmentFileName(1)), 'r+');
    await fh.write(Buffer.from([0xff]), 0, 1, 48 + 30); // inside record 2's payload
    await fh.close();
    expect((await wal.read(s(1), s(1))).length).toBe(1);
    await expect(wal.read(s(1), s(3))).rejects.toMatchObject({
      code: 'KISEKI_E_CORRUPT',
      message: expect.stringContaining(segmentFileName(1)),
    });
  });

  it('truncatePrefix deletes only whole segments at or below the bound, never the active one', async () => {
    const wal = await openWal({ segment_bytes_max: 500 });
    for (let i = 1; i <= 35; i++) await wal.append([payload(i)]);
    expect(await wal.truncatePrefix(s(15))).toBe(10);
    expect(wal.firstSeq).toBe(11);
    expect(await segmentFiles()).toEqual([11, 21, 31].map(segmentFileName));
    await expect(wal.read(s(5), s(12))).rejects.toMatchObject({ code: 'KISEKI_E_NOENT' });
    expect((await wal.read(s(11), s(12))).map((e) => e.seq)).toEqual([11, 12]);
    expect(await wal.truncatePrefix(s(35))).toBe(30);
    expect(await segmentFiles()).toEqual([segmentFileName(31)]);
    await expect(wal.truncatePrefix(s(36))).rejects.toMatchObject({ code: 'KISEKI_E_INVAL' });
    await wal.close();
    const b = await openWal({ segment_bytes_max: 500 });
    expect([b.firstSeq, b.lastSeq]).toEqual([31, 35]);
  });

  it('truncateSuffix removes records ≥ fromSeq durably; the next append reuses fromSeq', async () => {
    const wal = await openWal({ segment_bytes_max: 500 });
    for (let i = 1; i <= 25; i++) await wal.append([payload(i)], i < 15 ? 1 : 2);
    await wal.truncateSuffix(s(14));
    expect(wal.lastSeq).toBe(13);
    expect(wal.lastTerm).toBe(1);
    expect(await segmentFiles()).toEqual([1, 11].map(segmentFileName));
    expect(await wal.read(s(14), s(30))).toEqual([]);
    expect(await wal.append([Buffer.from('new-14')], 3)).toEqual([14]);
    await wal.close();
    const b = await openWal({ segment_bytes_max: 500 });
    expect(b.recovery.outcome).toBe('clean');
    expect(b.lastSeq).toBe(14);
    expect(Buffer.from((await b.read(s(14), s(14)))[0]!.payload).toString()).toBe('new-14');
    // Truncating a whole segment's worth at its first seq leaves an empty active segment.
    await b.truncateSuffix(s(11));
    expect(await b.append([Buffer.from('x')])).toEqual([11]);
    await expect(b.truncateSuffix(s(20))).rejects.toMatchObject({ code: 'KISEKI_E_INVAL' });
  });

  it('truncateSuffix waits for in-flight appends, then holds new ones', async () => {
    const wal = await openWal();
    await wal.append([payload(1), payload(2)]);
    const inflight = wal.append([payload(3)]);
    const t = wal.truncateSuffix(s(2));
    const after = wal.append([payload(99)]);
    expect(await inflight).toEqual([3]);
    await t;
    expect(await after).toEqual([2]);
    expect(Buffer.from((await wal.read(s(2), s(2)))[0]!.payload)).toEqual(payload(99));
  });

  it('waitForSeq wakes on commit and rejects on abort', async () => {
    const wal = await openWal();
    const woke = wal.waitForSeq(2);
    await wal.append([payload(1)]);
    await wal.append([payload(2)]);
    await woke;
    const ac = new AbortController();
    const w = wal.waitForSeq(10, ac.signal);
    ac.abort(new Error('stop'));
    await expect(w).rejects.toThrow('stop');
  });

  it('close flushes pending appends, then refuses new ones', async () => {
    const wal = await openWal();
    const pending = Array.from({ length: 20 }, (_, i) => wal.append([payload(i + 1)]));
    await wal.close();
    expect((await Promise.all(pending)).flat()).toHaveLength(20);
    await expect(wal.append([payload(0)])).rejects.toMatchObject({ code: 'KISEKI_E_UNAVAILABLE' });
    const b = await openWal();
    expect(b.lastSeq).toBe(20);
  });
});

describe('Wal with sync_each_batch false (a log rebuilt from another durable one)', () => {
  it('acknowledges written batches without fdatasync; sync(), a roll and close make them durable', async () => {
    const wal = await openWal({ sync_each_batch: false, segment_bytes_max: 200 });
    await wal.append([payload(1), payload(2)]);
    expect(wal.lastSeq).toBe(2);
    expect(wal.stats.datasyncs).toBe(0);
    await wal.sync();
    expect(wal.stats.datasyncs).toBe(1);
    await wal.sync();
    expect(wal.stats.datasyncs).toBe(1); // nothing new written
    for (let i = 3; i <= 12; i++) await wal.append([payload(i)]);
    expect(wal.segmentCount).toBeGreaterThan(1);
    const rolled = wal.stats.datasyncs;
    expect(rolled).toBe(wal.segmentCount); // one per sealed segment, none per batch
    await wal.close();
    expect(wal.stats.datasyncs).toBe(rolled + 1);
    const again = await openWal();
    expect(again.lastSeq).toBe(12);
    expect((await again.read(s(1), s(12))).map((e) => e.payload.subarray(0, 4).toString())).toContain('p12:');
  });
});
