import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChunkIdHex } from '@kiseki/proto';
import { describe, expect, it } from 'vitest';
import { DeviceAllocator, DirectDevice, MemoryDevice } from '../../block/index.ts';
import { createPool, type DurabilityPolicy, setDurability } from './policy.ts';
import { type ChunkLocation, localDevice, type PieceDevice, PoolStore } from './pool-store.ts';

const MiB = 1 << 20;
const unavailable = expect.objectContaining({ code: 'KISEKI_E_UNAVAILABLE' });

const idOf = (b: Uint8Array) => createHash('sha256').update(b).digest('hex') as ChunkIdHex;

/** `perNode[i]` memory devices on node i, each with its MemoryDevice for bit flips. */
async function memoryPool(perNode: number[], policy?: DurabilityPolicy) {
  const mems: MemoryDevice[] = [];
  const devices: PieceDevice[] = [];
  for (const [n, count] of perNode.entries()) {
    for (let i = 0; i < count; i++) {
      const mem = new MemoryDevice({ sizeBytes: 16 * MiB, blockSizeBytes: 4096 });
      mems.push(mem);
      devices.push(localDevice(`n${n}-d${i}`, `node-${n}`, await DeviceAllocator.format(mem)));
    }
  }
  return { store: new PoolStore(createPool('p', 'ssd', policy), devices), devices, mems };
}

function subsets<T>(xs: readonly T[], size: number): T[][] {
  if (size === 0) return [[]];
  return xs.flatMap((x, i) => subsets(xs.slice(i + 1), size - 1).map((rest) => [x, ...rest]));
}

async function putSome(store: PoolStore, count: number, bytes = 300_000) {
  const out: { id: ChunkIdHex; data: Buffer; loc: ChunkLocation }[] = [];
  for (let i = 0; i < count; i++) {
    const data = randomBytes(bytes + i);
    const id = idOf(data);
    out.push({ id, data, loc: await store.put(id, data) });
  }
  return out;
}

describe('PoolStore: EC 4+2 across 3 nodes and 6 devices', () => {
  it('I-C4: with any 2 devices gone reads return the right bytes; with 3 gone a clear error and nothing else breaks', async () => {
    const { store, devices } = await memoryPool([2, 2, 2]);
    const chunks = await putSome(store, 3);
    for (const c of chunks) expect(new Set(c.loc.pieces.map((p) => p.deviceId)).size).toBe(6);
    for (const down of subsets(devices, 2)) {
      for (const d of down) d.state = 'down';
      for (const c of chunks) {
        const got = await store.get(c.id, c.loc);
        expect(Buffer.from(got.bytes).equals(c.data)).toBe(true);
      }
      for (const d of down) d.state = 'active';
    }
    for (const down of subsets(devices, 3).slice(0, 5)) {
      for (const d of down) d.state = 'down';
      for (const c of chunks) await expect(store.get(c.id, c.loc)).rejects.toThrow(unavailable);
      await expect(store.put(idOf(Buffer.from('x')), Buffer.from('x'))).rejects.toThrow(unavailable);
      for (const d of down) d.state = 'active';
      expect(
        Buffer.from((await store.get(chunks[0]!.id, chunks[0]!.loc)).bytes).equals(chunks[0]!.data),
      ).toBe(true);
    }
  });

  it('a lost device is repaired onto another device, back to full redundancy', async () => {
    const { store, devices } = await memoryPool([3, 3, 2]);
    const chunks = await putSome(store, 4);
    const lost = devices.find((d) => chunks[0]!.loc.pieces.some((p) => p.deviceId === d.deviceId))!;
    lost.state = 'down';
    for (const c of chunks) {
      const { location, repaired } = await store.repair(c.id, c.loc);
      const had = c.loc.pieces.findIndex((p) => p.deviceId === lost.deviceId);
      expect(repaired).toEqual(had < 0 ? [] : [had]);
      expect(location.pieces.some((p) => p.deviceId === lost.deviceId)).toBe(false);
      expect(new Set(location.pieces.map((p) => p.deviceId)).size).toBe(6);
      c.loc = location;
    }
    // Full redundancy again: any 2 of the remaining devices can go too.
    for (const down of subsets(
      devices.filter((d) => d !== lost),
      2,
    )) {
      for (const d of down) d.state = 'down';
      for (const c of chunks)
        expect(Buffer.from((await store.get(c.id, c.loc)).bytes).equals(c.data)).toBe(true);
      for (const d of down) d.state = 'active';
    }
  });

  it('bits flipped on a device behind our back: reads stay correct, scrub finds and rewrites them', async () => {
    const { store, devices, mems } = await memoryPool([2, 2, 2]);
    const [c] = await putSome(store, 1);
    const loc = c!.loc;
    // Flip a payload bit in pieces 0 and 4, in their devices' extents.
    for (const i of [0, 4]) {
      const mem = mems[devices.findIndex((d) => d.deviceId === loc.pieces[i]!.deviceId)]!;
      const blocksBefore = await firstExtentByte(mem);
      mem.flipBit(blocksBefore + loc.pieces[i]!.extent.start * 4096 + 64 + 1000, 3);
    }
    const got = await store.get(c!.id, loc);
    expect(Buffer.from(got.bytes).equals(c!.data)).toBe(true);
    expect(got.degraded).toEqual([0, 4]);
    const { location, repaired, release } = await store.repair(c!.id, loc);
    expect(repaired).toEqual([0, 4]);
    await store.release(release);
    expect((await store.get(c!.id, location)).degraded).toEqual([]);
    expect((await store.repair(c!.id, location)).repaired).toEqual([]);
  });

  it('evacuation: repair moves every piece off a draining device, which ends up empty', async () => {
    const { store, devices } = await memoryPool([3, 3, 2]);
    const chunks = await putSome(store, 6);
    const drain = devices[0]!;
    expect(drain.stats.usedBlocks).toBeGreaterThan(0);
    drain.state = 'draining';
    for (const c of chunks) {
      const r = await store.repair(c.id, c.loc);
      expect(r.repaired).toEqual([]);
      // Until the new location is stored and the old pieces released, the old one still reads.
      expect(Buffer.from((await store.get(c.id, c.loc)).bytes).equals(c.data)).toBe(true);
      await store.release(r.release);
      c.loc = r.location;
      expect(c.loc.pieces.some((p) => p.deviceId === drain.deviceId)).toBe(false);
    }
    expect(drain.stats.usedBlocks).toBe(0);
    for (const c of chunks) expect((await store.get(c.id, c.loc)).degraded).toEqual([]);
  });

  it('a new device: rebalance moves at most one piece per chunk onto it, and every chunk still survives 2 losses', async () => {
    const { store, devices } = await memoryPool([2, 2, 2]);
    const chunks = await putSome(store, 12, 20_000);
    const added = localDevice(
      'n1-d9',
      'node-1',
      await DeviceAllocator.format(new MemoryDevice({ sizeBytes: 16 * MiB })),
    );
    store.addDevice(added);
    let movedTotal = 0;
    for (const c of chunks) {
      const r = await store.rebalance(c.id, c.loc);
      expect(r.moved.length).toBeLessThanOrEqual(1);
      for (const i of r.moved) expect(r.location.pieces[i]!.deviceId).toBe('n1-d9');
      movedTotal += r.moved.length;
      await store.release(r.release);
      c.loc = r.location;
      expect((await store.rebalance(c.id, c.loc)).moved).toEqual([]); // settled
    }
    // Node 1 now has 3 devices for its 2 pieces per chunk: the new one ranks in the top 2 for
    // about two thirds of the chunks, and each of those moves exactly one piece.
    expect(movedTotal).toBeGreaterThan(0);
    for (const down of subsets([...devices, added], 2).filter((_, i) => i % 4 === 0)) {
      for (const d of down) d.state = 'down';
      for (const c of chunks)
        expect(Buffer.from((await store.get(c.id, c.loc)).bytes).equals(c.data)).toBe(true);
      for (const d of down) d.state = 'active';
    }
  });

  it('a stale location whose extents were released and reused never returns another chunk (replicas too)', async () => {
    const { store, devices } = await memoryPool([2, 2, 2], { kind: 'replicas', copies: 2 });
    const [a] = await putSome(store, 1, 50_000);
    const stale = a!.loc;
    for (const d of devices) if (stale.pieces.some((p) => p.deviceId === d.deviceId)) d.state = 'draining';
    const r = await store.repair(a!.id, stale);
    await store.release(r.release);
    for (const d of devices) d.state = 'active';
    const others = await putSome(store, 8, 50_000); // likely to reuse the released extents
    expect(others.length).toBe(8);
    await expect(store.get(a!.id, stale)).rejects.toThrow(unavailable);
    expect(Buffer.from((await store.get(a!.id, r.location)).bytes).equals(a!.data)).toBe(true);
  });

  it('I-C6: a new policy applies to new chunks; old chunks keep their code; replicas:3 survive 2 losses', async () => {
    const { store, devices } = await memoryPool([2, 2, 2]);
    const [old] = await putSome(store, 1);
    store.setPool(setDurability(createPool('p', 'ssd'), { kind: 'replicas', copies: 3 }));
    const [fresh] = await putSome(store, 1);
    expect(old!.loc).toMatchObject({ epoch: 1 });
    expect(old!.loc.pieces).toHaveLength(6);
    expect(fresh!.loc).toMatchObject({ epoch: 2 });
    expect(fresh!.loc.pieces).toHaveLength(3);
    for (const d of devices.filter((d) =>
      fresh!.loc.pieces.slice(0, 2).some((p) => p.deviceId === d.deviceId),
    )) {
      d.state = 'down';
    }
    expect(Buffer.from((await store.get(fresh!.id, fresh!.loc)).bytes).equals(fresh!.data)).toBe(true);
    expect(Buffer.from((await store.get(old!.id, old!.loc)).bytes).equals(old!.data)).toBe(true);
  });
});

/** Byte offset of allocatable block 0 on a MemoryDevice formatted by DeviceAllocator. */
async function firstExtentByte(mem: MemoryDevice): Promise<number> {
  const bs = mem.blockSizeBytes;
  const total = (mem.sizeBytes - mem.dataStartBytes) / bs;
  const pages = Math.max(1, Math.ceil(total / ((bs - 32) * 8)));
  return mem.dataStartBytes + (1 + pages) * bs;
}

describe.runIf(process.getuid?.() === 0)('PoolStore on 6 real loop devices', () => {
  it('EC 4+2: writes through DirectDevice, reads with 2 devices down, repairs after a device is lost', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kiseki-pool-'));
    const loops: string[] = [];
    const allocators: DeviceAllocator[] = [];
    try {
      const devices: PieceDevice[] = [];
      for (let i = 0; i < 7; i++) {
        const img = join(dir, `d${i}.img`);
        execFileSync('truncate', ['-s', String(32 * MiB), img]);
        loops.push(
          execFileSync('losetup', ['-f', '--show', img], { encoding: 'utf8', timeout: 30_000 }).trim(),
        );
        const a = await DeviceAllocator.format(await DirectDevice.format(loops[i]!));
        allocators.push(a);
        devices.push(localDevice(`d${i}`, `node-${i % 3}`, a));
      }
      const store = new PoolStore(createPool('p', 'ssd'), devices);
      const chunks = await putSome(store, 3, MiB);
      for (const down of [devices.slice(0, 2), devices.slice(2, 4), [devices[1]!, devices[5]!]]) {
        for (const d of down) d.state = 'down';
        for (const c of chunks)
          expect(Buffer.from((await store.get(c.id, c.loc)).bytes).equals(c.data)).toBe(true);
        for (const d of down) d.state = 'active';
      }
      devices[0]!.state = 'down';
      for (const c of chunks) {
        c.loc = (await store.repair(c.id, c.loc)).location;
        expect(c.loc.pieces.some((p) => p.deviceId === 'd0')).toBe(false);
        expect(Buffer.from((await store.get(c.id, c.loc)).bytes).equals(c.data)).toBe(true);
      }
    } finally {
      for (const a of allocators) await a.close().catch(() => undefined);
      for (const l of loops) execFileSync('losetup', ['-d', l], { timeout: 30_000 });
      await rm(dir, { recursive: true, force: true });
    }
  });
});
