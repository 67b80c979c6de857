import { mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AssertionError, KisekiError } from '@kiseki/proto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileDevice } from './device.ts';
import { MemoryDevice } from './memory-device.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kiseki-dev-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof KisekiError) return err.code;
    throw err;
  }
  return 'resolved';
}

const MiB = 1 << 20;

describe('FileDevice', () => {
  it('creates a preallocated file with a superblock and reopens it', async () => {
    const path = join(dir, 'dev');
    const dev = await FileDevice.create(path, 4 * MiB);
    expect(dev.blockSizeBytes).toBe(4096);
    expect(dev.dataStartBytes).toBe(4096);
    expect((await stat(path)).size).toBe(4 * MiB);
    const data = Buffer.alloc(8192, 0xab);
    await dev.write(4096, data);
    await dev.writev(3 * 4096, [Buffer.alloc(100, 1), Buffer.alloc(4096 - 100, 2)]);
    await dev.sync();
    await dev.close();
    await dev.close(); // idempotent

    const again = await FileDevice.open(path);
    expect(again.deviceUuid).toBe(dev.deviceUuid);
    expect(again.sizeBytes).toBe(4 * MiB);
    expect((await again.read(4096, 8192)).equals(data)).toBe(true);
    const v = await again.read(3 * 4096, 4096);
    expect(v.subarray(0, 100).every((b) => b === 1)).toBe(true);
    expect(v.subarray(100).every((b) => b === 2)).toBe(true);
    await again.close();
  });

  it('builds the file under a temporary name, so a crash mid-create leaves nothing at the path', async () => {
    const path = join(dir, 'dev');
    await writeFile(`${path}.creating`, Buffer.alloc(100, 9)); // left by a crash during create
    await (await FileDevice.create(path, MiB)).close();
    expect(await readdir(dir)).toEqual(['dev']);
  });

  it('refuses to create over an existing device unless forced', async () => {
    const path = join(dir, 'dev');
    await (await FileDevice.create(path, MiB)).close();
    expect(await codeOf(FileDevice.create(path, MiB))).toBe('KISEKI_E_EXIST');
    const forced = await FileDevice.create(path, 2 * MiB, 4096, { force: true });
    expect(forced.sizeBytes).toBe(2 * MiB);
    await forced.close();
  });

  it('overwrites a plain file that has no superblock', async () => {
    const path = join(dir, 'dev');
    await writeFile(path, Buffer.alloc(10_000, 7));
    const dev = await FileDevice.create(path, MiB, 4096, { preallocate: 'sparse' });
    expect(dev.allocation).toBe('sparse');
    expect((await dev.read(4096, 4096)).every((b) => b === 0)).toBe(true);
    await dev.close();
  });

  it('refuses to open a file without a superblock, with a bad checksum, or truncated', async () => {
    const plain = join(dir, 'plain');
    await writeFile(plain, Buffer.alloc(8192));
    expect(await codeOf(FileDevice.open(plain))).toBe('KISEKI_E_INVAL');
    expect(await codeOf(FileDevice.open(join(dir, 'missing')))).toBe('KISEKI_E_NOENT');

    const path = join(dir, 'dev');
    await (await FileDevice.create(path, MiB)).close();
    const bytes = await readFile(path);
    bytes[20]! ^= 0x10; // inside the size field
    await writeFile(path, bytes);
    expect(await codeOf(FileDevice.open(path))).toBe('KISEKI_E_CORRUPT');

    const short = join(dir, 'short');
    await (await FileDevice.create(short, MiB)).close();
    await truncate(short, MiB / 2);
    expect(await codeOf(FileDevice.open(short))).toBe('KISEKI_E_CORRUPT');
  });

  it('refuses bad geometry', async () => {
    expect(await codeOf(FileDevice.create(join(dir, 'a'), MiB, 1000))).toBe('KISEKI_E_INVAL');
    expect(await codeOf(FileDevice.create(join(dir, 'b'), MiB + 1))).toBe('KISEKI_E_INVAL');
    expect(await codeOf(FileDevice.create(join(dir, 'c'), 4096))).toBe('KISEKI_E_INVAL');
  });

  it('I-C7: asserts alignment, bounds and the superblock on every request', async () => {
    const dev = await FileDevice.create(join(dir, 'dev'), MiB);
    await expect(dev.read(100, 4096)).rejects.toBeInstanceOf(AssertionError);
    await expect(dev.read(4096, 100)).rejects.toBeInstanceOf(AssertionError);
    await expect(dev.read(MiB, 4096)).rejects.toBeInstanceOf(AssertionError);
    await expect(dev.write(0, Buffer.alloc(4096))).rejects.toBeInstanceOf(AssertionError);
    await expect(dev.writev(4096, [Buffer.alloc(10)])).rejects.toBeInstanceOf(AssertionError);
    await dev.close();
  });
});

describe('MemoryDevice', () => {
  it('loses unsynced blocks on a crash unless told they survived', async () => {
    const dev = new MemoryDevice({ sizeBytes: 16 * 4096 });
    await dev.write(4096, Buffer.alloc(4096, 1));
    await dev.sync();
    await dev.writev(2 * 4096, [Buffer.alloc(4096, 2), Buffer.alloc(4096, 3)]);
    expect((await dev.read(2 * 4096, 4096))[0]).toBe(2);
    expect(dev.unsyncedBlocks()).toEqual([2, 3]);
    const lost = dev.crashImage();
    expect((await lost.read(4096, 4096))[0]).toBe(1);
    expect((await lost.read(2 * 4096, 8192)).every((b) => b === 0)).toBe(true);
    const torn = dev.crashImage((b) => b === 3);
    expect((await torn.read(2 * 4096, 4096))[0]).toBe(0);
    expect((await torn.read(3 * 4096, 4096))[0]).toBe(3);
    expect(torn.deviceUuid).toBe(dev.deviceUuid);
  });
});
