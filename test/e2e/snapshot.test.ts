/**
 * Two SDK clients of one real kiseki-server: close-to-open consistency, and MVCC snapshots
 * (I-V2) that keep reading the old version of a tree while another client rewrites it, also
 * across chunk GC passes, until the pin expires (I-V4).
 */
import { randomBytes } from 'node:crypto';
import { type Kiseki, Snapshot } from '@kiseki/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, type ServerHandle, sdk, startServer } from './harness.ts';

const MIB = 1024 * 1024;
const GC_GRACE_MS = 1000;

describe('two clients, close-to-open and snapshots', () => {
  let server: ServerHandle;
  let writer: Kiseki;
  let reader: Kiseki;

  beforeAll(async () => {
    server = await startServer({
      deviceSizeBytes: 256 * MIB,
      extraArgs: ['--gc-grace-ms', String(GC_GRACE_MS)],
    });
    writer = await sdk(server);
    reader = await sdk(server);
  });
  afterAll(async () => {
    await writer?.close();
    await reader?.close();
    await server?.stop();
    if (server) cleanup(server.home);
  });

  it('close-to-open: what a writer closed, another client opens and reads in full', async () => {
    const body = randomBytes(5 * MIB + 333);
    const st = await writer.fs.create('/cto.bin');
    const f = await writer.client.open(st.ino);
    for (let off = 0; off < body.length; off += MIB) await f.write(off, body.subarray(off, off + MIB));
    await writer.client.release(f);
    expect((await reader.fs.readFile('/cto.bin')).equals(body)).toBe(true);
    // And back: the reader overwrites the middle, the writer sees it on its next open.
    const patch = randomBytes(1000);
    const g = await reader.client.open(st.ino);
    await g.write(MIB - 500, patch);
    await reader.client.release(g);
    patch.copy(body, MIB - 500);
    expect((await writer.fs.readFile('/cto.bin')).equals(body)).toBe(true);
  });

  it('I-V2: a pinned snapshot keeps reading the old tree while it is rewritten, across GC passes', async () => {
    const v1 = randomBytes(3 * MIB + 7);
    await writer.fs.mkdir('/data');
    await writer.fs.writeFile('/data/model.bin', v1);
    await writer.fs.writeFile('/data/a', Buffer.from('a1'));
    await writer.fs.symlink('model.bin', '/data/latest');
    const snap = await Snapshot.open(reader.client, 60_000);
    try {
      const v2 = randomBytes(2 * MIB + 1);
      await writer.fs.writeFile('/data/model.bin', v2);
      await writer.fs.unlink('/data/a');
      await writer.fs.writeFile('/data/b', Buffer.from('b2'));
      // Let chunk GC run at least twice: v1's chunks are unreferenced in the live view now.
      await new Promise((r) => setTimeout(r, GC_GRACE_MS * 3 + 500));

      expect((await snap.readFile('/data/model.bin')).equals(v1)).toBe(true);
      expect((await snap.readFile('/data/latest')).equals(v1)).toBe(true);
      expect(
        (await snap.read((await snap.stat('/data/model.bin')).ino, MIB - 3, 10)).equals(
          v1.subarray(MIB - 3, MIB + 7),
        ),
      ).toBe(true);
      expect((await snap.readdir('/data')).map((e) => e.name).sort()).toEqual(['a', 'latest', 'model.bin']);
      expect((await snap.readFile('/data/a')).toString()).toBe('a1');
      // The live view moved on.
      expect((await reader.fs.readFile('/data/model.bin')).equals(v2)).toBe(true);
      expect((await reader.fs.readdir('/data')).map((e) => e.name).sort()).toEqual([
        'b',
        'latest',
        'model.bin',
      ]);
    } finally {
      await snap.release();
    }
    await expect(snap.readFile('/data/model.bin')).rejects.toMatchObject({ code: 'KISEKI_E_PIN_EXPIRED' });
  });

  it('I-V4: a snapshot past its lifetime fails with a clear error, never with newer data', async () => {
    await writer.fs.writeFile('/short', Buffer.from('old'));
    const snap = await Snapshot.open(reader.client, 1000);
    await writer.fs.writeFile('/short', Buffer.from('new'));
    expect((await snap.readFile('/short')).toString()).toBe('old');
    await new Promise((r) => setTimeout(r, 1300));
    await expect(snap.readFile('/short')).rejects.toMatchObject({ code: 'KISEKI_E_PIN_EXPIRED' });
  });
});
