import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DeviceAllocator } from './allocator.ts';
import { DirectDevice, directBuffer, probeGeometry, SEGMENT_BYTES } from './direct-device.ts';

const MiB = 1 << 20;
const isRoot = process.getuid?.() === 0;

let dir: string;
const loops: string[] = [];
const mounts: string[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kiseki-direct-'));
});
afterEach(async () => {
  // Also on failure: unmount, detach every loop device this test attached, remove the files.
  for (const m of mounts.splice(0)) execFileSync('umount', ['-l', m], { timeout: 30_000 });
  for (const l of loops.splice(0)) execFileSync('losetup', ['-d', l], { timeout: 30_000 });
  await rm(dir, { recursive: true, force: true });
});

/** A loop device over a sparse file in the test's temp dir; detached in afterEach. */
function loopDevice(sizeBytes: number, logicalBlockBytes?: number): string {
  const img = join(dir, `loop-${loops.length}.img`);
  execFileSync('truncate', ['-s', String(sizeBytes), img]);
  const args = ['-f', '--show', ...(logicalBlockBytes ? ['-b', String(logicalBlockBytes)] : []), img];
  const dev = execFileSync('losetup', args, { encoding: 'utf8', timeout: 30_000 }).trim();
  loops.push(dev);
  return dev;
}

const code = (c: string) => expect.objectContaining({ code: c });

/** Writes odd-sized pieces across segment boundaries, reads them back, reopens, reads again. */
async function roundTrip(path: string, dev: DirectDevice): Promise<void> {
  const bs = dev.blockSizeBytes;
  const total = 3 * SEGMENT_BYTES + 2 * bs; // crosses segment boundaries, not a multiple of them
  // (the device must hold total + bs + 2 segments after the data start)
  const whole = randomBytes(total);
  const pieces = [
    whole.subarray(0, 100),
    whole.subarray(100, SEGMENT_BYTES + 7),
    whole.subarray(SEGMENT_BYTES + 7),
  ];
  await dev.writev(dev.dataStartBytes, pieces);
  const one = randomBytes(bs);
  await dev.write(dev.dataStartBytes + total, one);
  await dev.sync();
  expect((await dev.read(dev.dataStartBytes, total)).equals(whole)).toBe(true);
  const into = Buffer.alloc(bs);
  await dev.readInto(dev.dataStartBytes + total, into);
  expect(into.equals(one)).toBe(true);
  const pooled = Buffer.alloc(2 * bs);
  expect((await dev.read(dev.dataStartBytes + total, bs, pooled)).equals(one)).toBe(true);
  expect(pooled.subarray(0, bs).equals(one)).toBe(true);
  // Aligned caller memory goes straight to the device (no bounce buffer), in both directions.
  const direct = directBuffer(2 * SEGMENT_BYTES);
  direct.set(whole.subarray(0, direct.length));
  await dev.write(dev.dataStartBytes + total + bs, direct);
  const back = directBuffer(2 * SEGMENT_BYTES);
  await dev.readInto(dev.dataStartBytes + total + bs, back);
  expect(back.equals(direct)).toBe(true);
  await dev.readInto(dev.dataStartBytes + total + bs, back.subarray(bs, 2 * bs)); // direct, at an offset
  expect(back.subarray(bs, 2 * bs).equals(direct.subarray(0, bs))).toBe(true);
  await dev.close();
  await dev.close();
  const again = await DirectDevice.open(path);
  expect(again.deviceUuid).toBe(dev.deviceUuid);
  expect(again.blockSizeBytes).toBe(bs);
  expect((await again.read(dev.dataStartBytes, total)).equals(whole)).toBe(true);
  await again.close();
}

describe('DirectDevice on preallocated files', () => {
  it('formats a new file, does O_DIRECT I/O from unaligned buffers, reopens', async () => {
    const path = join(dir, 'dev');
    const dev = await DirectDevice.format(path, { sizeBytes: 16 * MiB });
    expect(dev.geometry.kind).toBe('file');
    expect(dev.blockSizeBytes).toBe(4096);
    expect(dev.sizeBytes).toBe(16 * MiB);
    await roundTrip(path, dev);
  });

  it('refuses to format over a Kiseki device unless forced; a flipped superblock bit is CORRUPT', async () => {
    const path = join(dir, 'dev');
    await (await DirectDevice.format(path, { sizeBytes: 4 * MiB })).close();
    await expect(DirectDevice.format(path)).rejects.toThrow(code('KISEKI_E_EXIST'));
    await expect(DirectDevice.format(path)).rejects.toThrow(/a Kiseki device/);
    const uuid = (await DirectDevice.open(path)).deviceUuid;
    const fresh = await DirectDevice.format(path, { force: true });
    expect(fresh.deviceUuid).not.toBe(uuid);
    await fresh.close();
    const fh = await open(path, 'r+');
    await fh.write(Buffer.from([0xff]), 0, 1, 20);
    await fh.close();
    await expect(DirectDevice.open(path)).rejects.toThrow(code('KISEKI_E_CORRUPT'));
  });

  it('opening something that was never formatted is INVAL; a missing file without a size is NOENT', async () => {
    const path = join(dir, 'plain');
    await writeFile(path, Buffer.alloc(MiB));
    await expect(DirectDevice.open(path)).rejects.toThrow(code('KISEKI_E_INVAL'));
    await expect(DirectDevice.format(join(dir, 'missing'))).rejects.toThrow(code('KISEKI_E_NOENT'));
    await mkdir(join(dir, 'sub'));
    await expect(DirectDevice.format(join(dir, 'sub'))).rejects.toThrow(code('KISEKI_E_INVAL'));
  });
});

describe.runIf(isRoot)('DirectDevice on loop devices', () => {
  it('reads geometry from sysfs, formats, does O_DIRECT I/O, reopens', async () => {
    const loop = loopDevice(64 * MiB);
    const geo = await probeGeometry(loop);
    expect(geo).toEqual({
      kind: 'block',
      logicalBlockBytes: 512,
      physicalBlockBytes: 512,
      sizeBytes: 64 * MiB,
    });
    const dev = await DirectDevice.format(loop);
    expect(dev.blockSizeBytes).toBe(4096);
    expect(dev.sizeBytes).toBe(64 * MiB);
    await roundTrip(loop, dev);
  });

  it('I-C7: honours a 4096-byte logical block size and refuses a smaller device block size', async () => {
    const loop = loopDevice(16 * MiB, 4096);
    expect((await probeGeometry(loop)).logicalBlockBytes).toBe(4096);
    await expect(DirectDevice.format(loop, { blockSizeBytes: 512 })).rejects.toThrow(code('KISEKI_E_INVAL'));
    const dev = await DirectDevice.format(loop, { blockSizeBytes: 8192 });
    expect(dev.blockSizeBytes).toBe(8192);
    await roundTrip(loop, dev);
  });

  it('refuses a device holding ext4 unless forced, and a mounted device even when forced (BUSY)', async () => {
    const loop = loopDevice(32 * MiB);
    execFileSync('mkfs.ext4', ['-q', '-F', loop], { timeout: 60_000 });
    await expect(DirectDevice.format(loop)).rejects.toThrow(/holds an ext2\/3\/4 filesystem/);
    const mnt = join(dir, 'mnt');
    await mkdir(mnt);
    execFileSync('mount', [loop, mnt], { timeout: 30_000 });
    mounts.push(mnt);
    await expect(DirectDevice.format(loop, { force: true })).rejects.toThrow(code('KISEKI_E_BUSY'));
    execFileSync('umount', [mnt], { timeout: 30_000 });
    mounts.pop();
    const dev = await DirectDevice.format(loop, { force: true });
    await dev.close();
    // The old signature is wiped: only ours is left for blkid and for us.
    expect(() => execFileSync('blkid', ['-p', loop], { encoding: 'utf8' })).toThrow();
    await expect(DirectDevice.format(loop)).rejects.toThrow(/a Kiseki device/);
  });

  it('I-C8: the on-device bitmap and its extents survive close and reopen of a real device', async () => {
    const loop = loopDevice(32 * MiB);
    const alloc = await DeviceAllocator.format(await DirectDevice.format(loop));
    const payloads = [randomBytes(100), randomBytes(3 * MiB), randomBytes(70_000)];
    const refs = await Promise.all(payloads.map((p, i) => alloc.write(p, Buffer.alloc(16, i))));
    await alloc.free(refs[0]!);
    await alloc.close();
    const { allocator, report } = await DeviceAllocator.open(await DirectDevice.open(loop));
    expect(report).toMatchObject({ repairedPages: 0, leakedBlocks: 0, extents: 2 });
    expect((await allocator.read(refs[1]!)).payload.equals(payloads[1]!)).toBe(true);
    expect((await allocator.read(refs[2]!)).payload.equals(payloads[2]!)).toBe(true);
    expect((await allocator.check()).map((e) => e.ref)).toEqual([refs[1], refs[2]]);
    await allocator.close();
  });

  it('refuses swap signatures and a device too small for two blocks', async () => {
    const loop = loopDevice(8 * MiB);
    execFileSync('mkswap', [loop], { timeout: 30_000, stdio: 'ignore' });
    await expect(DirectDevice.format(loop)).rejects.toThrow(/swap/);
    await expect(
      DirectDevice.format(loop, { force: true, blockSizeBytes: 1 << 20, sizeBytes: MiB }),
    ).rejects.toThrow(code('KISEKI_E_INVAL'));
  });
});
