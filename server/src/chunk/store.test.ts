import { mkdtemp, open as openFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ChunkIdHex, KisekiError, type TenantId } from '@kiseki/proto';
import { open as openLmdb } from 'lmdb';
import { afterEach, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { MemoryDevice } from '../block/index.ts';
import { ChunkStore, type ChunkStoreOptions, ENVELOPE_BYTES_MAX } from './store.ts';
import { envelope, idOf, TENANT } from './testdata/envelopes.ts';

const MiB = 1 << 20;
let dir: string;
const open: ChunkStore[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kiseki-store-'));
});
afterEach(async () => {
  for (const s of open.splice(0)) await s.close().catch(() => {});
  await rm(dir, { recursive: true, force: true });
});

async function openStore(opts: Partial<ChunkStoreOptions> = {}): Promise<ChunkStore> {
  const base: ChunkStoreOptions =
    opts.device === undefined
      ? { dir, devicePath: join(dir, 'chunks.dev'), deviceSizeBytes: 16 * MiB }
      : { dir, device: opts.device };
  const s = await ChunkStore.open({ ...base, ...opts });
  open.push(s);
  return s;
}

async function codeOf(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    if (err instanceof KisekiError) return err.code;
    throw err;
  }
  return 'ok';
}

function chunk(seed: number, length: number): { id: ChunkIdHex; bytes: Buffer } {
  const bytes = envelope(seed, length);
  return { id: idOf(bytes), bytes };
}

describe('ChunkStore', () => {
  it('round-trips put, get, has, stat, list and delete', async () => {
    const s = await openStore();
    expect(s.openReport).toMatchObject({ createdDevice: true, uncleanShutdown: false, chunks: 0 });
    const a = chunk(1, 100_000);
    expect(s.has(TENANT, a.id)).toBe(false);
    expect(await s.put(TENANT, a.id, a.bytes)).toEqual({ created: true });
    expect((await s.get(TENANT, a.id)).equals(a.bytes)).toBe(true);
    expect(s.has(TENANT, a.id)).toBe(true);
    expect(s.stat(TENANT, a.id)?.lengthBytes).toBe(100_000);
    expect([...s.list(TENANT)].map((c) => c.chunkId)).toEqual([a.id]);
    expect([...s.list('other' as TenantId)]).toEqual([]);
    expect(s.stats()).toMatchObject({ chunks: 1, usedBytes: 25 * 4096 });
    expect(await s.delete(TENANT, a.id)).toEqual({ deleted: true });
    expect(await s.delete(TENANT, a.id)).toEqual({ deleted: false });
    expect(s.has(TENANT, a.id)).toBe(false);
    expect(await codeOf(s.get(TENANT, a.id))).toBe('KISEKI_E_NOENT');
    expect(s.stats()).toMatchObject({ chunks: 0, usedBytes: 0, reservedBytes: 0 });
    s.checkConsistency();
  });

  it('I-C1: put is idempotent and never rewrites an existing chunk', async () => {
    const dev = new MemoryDevice({ sizeBytes: 4 * MiB });
    const s = await openStore({ device: dev });
    const a = chunk(2, 5000);
    expect(await s.put(TENANT, a.id, a.bytes)).toEqual({ created: true });
    const writes = dev.counters.writes;
    // Same id with different bytes (a re-sealed envelope) keeps the original.
    expect(await s.put(TENANT, a.id, envelope(3, 6000))).toEqual({ created: false });
    expect(dev.counters.writes).toBe(writes);
    expect((await s.get(TENANT, a.id)).equals(a.bytes)).toBe(true);
    expect(s.stats().chunks).toBe(1);
  });

  it('keeps tenants apart (I-T1)', async () => {
    const s = await openStore();
    const a = chunk(4, 300);
    await s.put(TENANT, a.id, a.bytes);
    expect(s.has('other' as TenantId, a.id)).toBe(false);
    expect(await codeOf(s.get('other' as TenantId, a.id))).toBe('KISEKI_E_NOENT');
    expect([...s.list()].length).toBe(1);
  });

  it('I-C7, I-C8: hundreds of concurrent puts share commits and never overlap', async () => {
    const dev = new MemoryDevice({ sizeBytes: 64 * MiB });
    const s = await openStore({ device: dev });
    const chunks = Array.from({ length: 400 }, (_, i) => chunk(100 + i, 80 + ((i * 7919) % 60_000)));
    const results = await Promise.all(chunks.map((c) => s.put(TENANT, c.id, c.bytes)));
    expect(results.every((r) => r.created)).toBe(true);
    expect(dev.counters.syncs).toBeLessThan(chunks.length / 4); // group commit
    const { chunks: n, usedBlocks } = s.checkConsistency(); // asserts no two extents overlap
    expect(n).toBe(400);
    expect(usedBlocks).toBe(chunks.reduce((sum, c) => sum + Math.ceil(c.bytes.length / 4096), 0));
    const back = await Promise.all(chunks.map((c) => s.get(TENANT, c.id)));
    for (const [i, b] of back.entries()) expect(b.equals(chunks[i]!.bytes)).toBe(true);
  });

  it('reopen preserves chunks, timestamps and free space', async () => {
    let now = 1_000;
    const s = await openStore({ now: () => now });
    const cs = Array.from({ length: 30 }, (_, i) => chunk(200 + i, 1000 * (i + 1)));
    for (const c of cs) await s.put(TENANT, c.id, c.bytes);
    await s.delete(TENANT, cs[0]!.id);
    now = 5_000;
    expect(s.has(TENANT, cs[1]!.id)).toBe(true);
    const before = s.stats();
    await s.close();

    const again = await openStore({ now: () => now });
    expect(again.openReport).toMatchObject({
      createdDevice: false,
      uncleanShutdown: false,
      leakedBlocksFreed: 0,
      unmarkedBlocksRepaired: 0,
      chunks: 29,
    });
    expect(again.stats()).toEqual(before);
    for (const c of cs.slice(1)) expect((await again.get(TENANT, c.id)).equals(c.bytes)).toBe(true);
    const info = new Map([...again.list(TENANT)].map((c) => [c.chunkId, c]));
    expect(info.get(cs[1]!.id)).toMatchObject({ createdAtMs: 1_000, lastTouchedMs: 5_000 }); // flushed at close
    expect(info.get(cs[2]!.id)).toMatchObject({ createdAtMs: 1_000, lastTouchedMs: 1_000 });
    again.checkConsistency();
  });

  it('has() touches lazily; after an unclean shutdown every chunk counts as touched at reopen', async () => {
    let now = 10;
    const crash = { armed: false };
    const dev = new MemoryDevice({ sizeBytes: 4 * MiB });
    const s = await openStore({
      device: dev,
      now: () => now,
      faultHook: () => {
        if (crash.armed) throw new Error('crash');
      },
    });
    const a = chunk(5, 200);
    const b = chunk(6, 200);
    await s.put(TENANT, a.id, a.bytes);
    await s.put(TENANT, b.id, b.bytes);
    now = 20;
    s.has(TENANT, a.id);
    expect(s.stat(TENANT, a.id)?.lastTouchedMs).toBe(20);
    await s.flushTouches();
    now = 30;
    s.has(TENANT, a.id); // held in memory only, lost in the crash
    crash.armed = true;
    const c = chunk(7, 200);
    await expect(s.put(TENANT, c.id, c.bytes)).rejects.toThrow('crash');
    await s.close();

    now = 1_000;
    const again = await openStore({ device: dev.crashImage(), now: () => now });
    expect(again.openReport.uncleanShutdown).toBe(true);
    for (const info of again.list()) expect(info.lastTouchedMs).toBe(1_000);
    expect(again.has(TENANT, c.id)).toBe(false);
  });

  it('flushes touches once touchPendingMax are held (bounded memory)', async () => {
    let now = 100;
    const s = await openStore({
      device: new MemoryDevice({ sizeBytes: 4 * MiB }),
      touchPendingMax: 3,
      now: () => now,
    });
    const cs = Array.from({ length: 3 }, (_, i) => chunk(40 + i, 100));
    for (const c of cs) await s.put(TENANT, c.id, c.bytes);
    const txns = s.counters.commitTxns;
    now = 200;
    s.has(TENANT, cs[0]!.id);
    s.has(TENANT, cs[1]!.id);
    expect(s.counters.commitTxns).toBe(txns);
    s.has(TENANT, cs[2]!.id); // third touch: flush
    for (const c of cs) expect(s.stat(TENANT, c.id)?.lastTouchedMs).toBe(200); // visible while in flight
    await s.flushTouches(); // waits behind the triggered flush
    expect(s.counters.commitTxns).toBe(txns + 1);
  });

  it('verifies the CRC on read: a flipped bit in the device file is KISEKI_E_CORRUPT', async () => {
    const s = await openStore();
    const a = chunk(8, 10_000);
    await s.put(TENANT, a.id, a.bytes);
    await s.close();
    const fh = await openFile(join(dir, 'chunks.dev'), 'r+');
    const one = Buffer.alloc(1);
    await fh.read(one, 0, 1, 4096 + 5000); // the first chunk lands at the start of the data area
    one[0]! ^= 0x04;
    await fh.write(one, 0, 1, 4096 + 5000);
    await fh.close();
    const again = await openStore();
    expect(await codeOf(again.get(TENANT, a.id))).toBe('KISEKI_E_CORRUPT');
    expect(again.has(TENANT, a.id)).toBe(true); // metadata intact; the bytes are not returned
  });

  it('I-C5: a put past the critical ratio is KISEKI_E_CAPACITY_CRITICAL and harms nothing', async () => {
    // 1 MiB data area = 256 blocks; critical at 50% = 128 blocks.
    const s = await openStore({ deviceSizeBytes: MiB + 4096, criticalRatio: 0.5 });
    const stored = [];
    for (let i = 0; i < 12; i++) {
      const c = chunk(300 + i, 10 * 4096);
      await s.put(TENANT, c.id, c.bytes);
      stored.push(c);
    }
    expect(s.stats().usedBytes).toBe(120 * 4096);
    const big = chunk(400, 10 * 4096);
    expect(await codeOf(s.put(TENANT, big.id, big.bytes))).toBe('KISEKI_E_CAPACITY_CRITICAL');
    const fits = chunk(401, 8 * 4096);
    expect(await s.put(TENANT, fits.id, fits.bytes)).toEqual({ created: true });
    expect(s.has(TENANT, big.id)).toBe(false);
    expect(s.stats()).toMatchObject({ usedBytes: 128 * 4096, reservedBytes: 0, chunks: 13 });
    for (const c of stored) expect((await s.get(TENANT, c.id)).equals(c.bytes)).toBe(true);
    s.checkConsistency();
  });

  it('I-C5: with no contiguous extent large enough the put is KISEKI_E_NOSPC and harms nothing', async () => {
    const s = await openStore({ deviceSizeBytes: MiB + 4096, criticalRatio: 1 });
    const cs = Array.from({ length: 16 }, (_, i) => chunk(500 + i, 16 * 4096));
    for (const c of cs) await s.put(TENANT, c.id, c.bytes);
    expect(s.stats().freeBytes).toBe(0);
    const extra = chunk(600, 4096);
    expect(await codeOf(s.put(TENANT, extra.id, extra.bytes))).toBe('KISEKI_E_NOSPC');
    for (let i = 0; i < 16; i += 2) await s.delete(TENANT, cs[i]!.id); // 8 holes of 16 blocks
    expect(s.stats().freeBytes).toBe(128 * 4096);
    const wide = chunk(601, 17 * 4096);
    expect(await codeOf(s.put(TENANT, wide.id, wide.bytes))).toBe('KISEKI_E_NOSPC');
    expect(s.stats()).toMatchObject({ reservedBytes: 0, chunks: 8 });
    for (let i = 1; i < 16; i += 2) expect((await s.get(TENANT, cs[i]!.id)).equals(cs[i]!.bytes)).toBe(true);
    expect(await s.put(TENANT, extra.id, extra.bytes)).toEqual({ created: true });
    s.checkConsistency();
  });

  it('validates ids and envelope sizes (KISEKI_E_INVAL)', async () => {
    const s = await openStore({ deviceSizeBytes: 32 * MiB });
    const a = chunk(9, 100);
    expect(await codeOf(s.put('Bad Tenant' as TenantId, a.id, a.bytes))).toBe('KISEKI_E_INVAL');
    expect(await codeOf(s.put(TENANT, 'abc' as ChunkIdHex, a.bytes))).toBe('KISEKI_E_INVAL');
    expect(await codeOf(s.put(TENANT, a.id.toUpperCase() as ChunkIdHex, a.bytes))).toBe('KISEKI_E_INVAL');
    expect(await codeOf(s.put(TENANT, a.id, Buffer.alloc(79)))).toBe('KISEKI_E_INVAL');
    expect(await codeOf(s.put(TENANT, a.id, Buffer.alloc(ENVELOPE_BYTES_MAX + 1)))).toBe('KISEKI_E_INVAL');
    expect(await codeOf(() => s.has(TENANT, 'x' as ChunkIdHex))).toBe('KISEKI_E_INVAL');
    expect(await codeOf(s.get('' as TenantId, a.id))).toBe('KISEKI_E_INVAL');
    expect(await codeOf(s.put(TENANT, a.id, Buffer.alloc(ENVELOPE_BYTES_MAX)))).toBe('ok'); // exactly the max
  });

  it('bounds bytes in flight (inflightBytesMax)', async () => {
    const dev = new MemoryDevice({ sizeBytes: 8 * MiB });
    let inFlight = 0;
    let maxInFlight = 0;
    const writev = dev.writev.bind(dev);
    dev.writev = async (offset, pieces) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, 2));
      await writev(offset, pieces);
      inFlight--;
    };
    const s = await openStore({ device: dev, inflightBytesMax: 2 * 16 * 4096 });
    const cs = Array.from({ length: 20 }, (_, i) => chunk(700 + i, 16 * 4096));
    await Promise.all(cs.map((c) => s.put(TENANT, c.id, c.bytes)));
    expect(maxInFlight).toBe(2);
    s.checkConsistency();
  });

  it('a get in progress keeps its extent from being reused by a delete + put', async () => {
    const dev = new MemoryDevice({ sizeBytes: MiB + 4096 });
    const s = await openStore({ device: dev, criticalRatio: 1 });
    const a = chunk(10, 64 * 4096);
    await s.put(TENANT, a.id, a.bytes);
    let unblock!: () => void;
    const gate = new Promise<void>((r) => {
      unblock = r;
    });
    const read = dev.read.bind(dev);
    dev.read = async (offset, length) => {
      const bytes = await read(offset, length); // snapshot now, deliver later
      await gate;
      return bytes;
    };
    const pending = s.get(TENANT, a.id);
    pending.catch(() => {});
    onTestFinished(unblock);
    await s.delete(TENANT, a.id);
    expect(s.stats().reservedBytes).toBe(64 * 4096); // retired, waiting for the reader
    const fill = Array.from({ length: 3 }, (_, i) => chunk(11 + i, 64 * 4096));
    for (const c of fill) await s.put(TENANT, c.id, c.bytes); // only 192 of 256 blocks are free
    const more = chunk(20, 4096);
    expect(await codeOf(s.put(TENANT, more.id, more.bytes))).toBe('KISEKI_E_NOSPC');
    unblock();
    expect((await pending).equals(a.bytes)).toBe(true);
    dev.read = read;
    expect(s.stats().reservedBytes).toBe(0);
    expect(await s.put(TENANT, more.id, more.bytes)).toEqual({ created: true });
    s.checkConsistency();
  });

  it('I-C8: start-up reconciliation frees bitmap bits that no index entry covers', async () => {
    const s = await openStore();
    const a = chunk(30, 3 * 4096);
    await s.put(TENANT, a.id, a.bytes);
    await s.close();
    // Behind the store's back: mark blocks 10..17 used in bitmap page 0.
    const env = openLmdb({ path: dir, maxDbs: 4, overlappingSync: false });
    const bm = env.openDB<Buffer, number>({ name: 'bitmap', encoding: 'binary', keyEncoding: 'uint32' });
    const page = Buffer.from(bm.getBinary(0)!);
    page[1] = 0xff; // blocks 8..15
    page[2]! |= 0x03; // blocks 16, 17
    await bm.put(0, page);
    await env.close();

    const again = await openStore();
    expect(again.openReport).toMatchObject({ leakedBlocksFreed: 10, unmarkedBlocksRepaired: 0, chunks: 1 });
    expect(again.stats().usedBytes).toBe(3 * 4096);
    again.checkConsistency();
    await again.close();
    expect((await openStore()).openReport.leakedBlocksFreed).toBe(0); // the repair was persisted
  });

  it('refuses a device that belongs to another index, and a second store on one directory', async () => {
    const s = await openStore();
    expect(await codeOf(ChunkStore.open({ dir, devicePath: join(dir, 'chunks.dev') }))).toBe('KISEKI_E_BUSY');
    await s.close();
    const other = new MemoryDevice({ sizeBytes: 16 * MiB });
    expect(await codeOf(ChunkStore.open({ dir, device: other }))).toBe('KISEKI_E_INVAL');
    expect(
      await codeOf(ChunkStore.open({ dir, devicePath: join(dir, 'chunks.dev'), deviceSizeBytes: 8 * MiB })),
    ).toBe('KISEKI_E_INVAL');
    const fresh = await mkdtemp(join(tmpdir(), 'kiseki-store-'));
    try {
      expect(await codeOf(ChunkStore.open({ dir: fresh, devicePath: join(fresh, 'none') }))).toBe(
        'KISEKI_E_INVAL',
      );
    } finally {
      await rm(fresh, { recursive: true, force: true });
    }
    // After the refusals the right device still opens.
    expect((await openStore()).openReport.chunks).toBe(0);
  });
});
