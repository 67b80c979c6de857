import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DeviceRegistry } from './device-registry.ts';

const MiB = 1 << 20;
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kiseki-registry-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('DeviceRegistry', () => {
  it('I-C8: devices and their extents survive a reopen; a device holding data cannot be removed', async () => {
    const reg = await DeviceRegistry.open(join(dir, 'reg'));
    const path = join(dir, 'dev.img');
    await writeFile(path, Buffer.alloc(0));
    await truncate(path, 16 * MiB); // a preallocated file (sparse here)
    const added = await reg.add(path, { deviceClass: 'hdd' });
    expect(added).toMatchObject({ path, state: 'active', kind: 'file', deviceClass: 'hdd', usedBytes: 0 });
    await expect(reg.add(path)).rejects.toThrow(expect.objectContaining({ code: 'KISEKI_E_EXIST' }));
    const [dev] = reg.pieceDevices('node-1');
    const ref = await dev!.write(Buffer.alloc(100_000, 7), Buffer.alloc(16, 1));
    await expect(reg.remove(path)).rejects.toThrow(expect.objectContaining({ code: 'KISEKI_E_NOTEMPTY' }));
    await reg.close();

    const again = await DeviceRegistry.open(join(dir, 'reg'));
    expect(again.list()).toMatchObject([{ deviceUuid: added.deviceUuid, state: 'active' }]);
    expect(again.list()[0]!.usedBytes).toBeGreaterThan(100_000);
    const [back] = again.pieceDevices('node-1');
    expect(Buffer.from((await back!.read(ref)).payload).equals(Buffer.alloc(100_000, 7))).toBe(true);
    await back!.free(ref);
    await again.remove(added.deviceUuid);
    await expect(again.remove(added.deviceUuid)).rejects.toThrow(
      expect.objectContaining({ code: 'KISEKI_E_NOENT' }),
    );
    await again.close();
    expect((await DeviceRegistry.open(join(dir, 'reg'))).list()).toEqual([]);
  });

  it("refuses the node's own chunk device even with force, and a missing file; nothing is registered", async () => {
    const own = join(dir, 'dev0.img');
    await writeFile(own, Buffer.alloc(0));
    await truncate(own, 16 * MiB);
    const reg = await DeviceRegistry.open(join(dir, 'reg'), { inUse: [own] });
    await expect(reg.add(own, { force: true })).rejects.toThrow(
      expect.objectContaining({ code: 'KISEKI_E_BUSY' }),
    );
    await expect(reg.add(join(dir, 'nope.img'))).rejects.toThrow(
      expect.objectContaining({ code: 'KISEKI_E_NOENT' }),
    );
    expect(reg.list()).toEqual([]);
    await reg.close();
  });
});
