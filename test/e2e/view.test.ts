/**
 * The view and the log through the public gRPC surface of a real kiseki-server.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Rpc } from '@kiseki/client';
import {
  type AppendResponse__Output,
  type Attr__Output,
  DeltaHeaderCodec,
  decodeDeltaEnvelope,
  type PinResponse__Output,
  type ReadRangeResponse__Output,
  type StatusResponse__Output,
} from '@kiseki/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caFile, cleanup, type ServerHandle, sdk, startServer } from './harness.ts';

describe('view and log', () => {
  let server: ServerHandle;
  let admin: Rpc;
  let token: string;

  beforeAll(async () => {
    server = await startServer({ deviceSizeBytes: 256 * 1024 ** 2 });
    admin = new Rpc({ server: server.address, caCert: readFileSync(caFile(server.home)) });
    token = readFileSync(join(server.home, 'admin.token'), 'utf8').trim();
  });
  afterAll(async () => {
    admin?.close();
    await server?.stop();
    if (server) cleanup(server.home);
  });

  const status = () =>
    admin.call<object, StatusResponse__Output>(admin.clients.control, 'Status', {}, { token });

  it('I-V1: a deleted view is rebuilt from the log alone, to the same state', async () => {
    const k = await sdk(server);
    const files = new Map<string, Buffer>();
    await k.fs.mkdir('/a');
    await k.fs.mkdir('/a/b');
    for (let i = 0; i < 20; i++) {
      const body = randomBytes(i * 70_001);
      files.set(`/a/b/f${i}`, body);
      await k.fs.writeFile(`/a/b/f${i}`, body);
    }
    await k.fs.rename('/a/b/f0', '/a/moved');
    files.set('/a/moved', files.get('/a/b/f0')!);
    files.delete('/a/b/f0');
    await k.fs.unlink('/a/b/f1');
    files.delete('/a/b/f1');
    await k.fs.truncate('/a/b/f2', 12_345);
    files.set('/a/b/f2', files.get('/a/b/f2')!.subarray(0, 12_345));
    const before = (await status()).shards[0]!;
    await k.close();

    await server.stop();
    rmSync(join(server.home, 'view'), { recursive: true, force: true });
    await server.restart();
    expect(server.log()).toMatch(/view caught up from the log/);
    const after = (await status()).shards[0]!;
    expect(after.applied).toBe(before.committed);

    const k2 = await sdk(server);
    try {
      expect((await k2.fs.readdir('/a/b')).map((e) => e.name).sort()).toEqual(
        [...files.keys()]
          .filter((p) => p.startsWith('/a/b/'))
          .map((p) => p.slice(5))
          .sort(),
      );
      for (const [p, body] of files) expect((await k2.fs.readFile(p)).equals(body), p).toBe(true);
    } finally {
      await k2.close();
    }
  });

  it('readdir pages through a directory of more than two pages (1024 entries each), every entry once', async () => {
    const k = await sdk(server);
    try {
      await k.fs.mkdir('/big-dir');
      const dir = (await k.fs.stat('/big-dir')).ino;
      const n = 2 * 1024 + 300;
      for (let i = 0; i < n; i += 64)
        await Promise.all(
          Array.from({ length: Math.min(64, n - i) }, (_, j) => k.client.create(dir, `e${i + j}`, 'file')),
        );
      const names = (await k.client.readdir(dir)).map((e) => e.name);
      expect(names.length).toBe(n);
      expect(new Set(names).size).toBe(n);
    } finally {
      await k.close();
    }
  });

  it('I-V2, I-V4: a pin reads a consistent snapshot while writers go on, and expires', async () => {
    const k = await sdk(server);
    try {
      await k.fs.writeFile('/pinned.txt', Buffer.from('version one'));
      const st = await k.fs.stat('/pinned.txt');
      const pin = await k.client.rpc.call<object, PinResponse__Output>(k.client.rpc.clients.view, 'Pin', {
        ttlMs: 1500,
      });
      await k.fs.writeFile('/pinned.txt', Buffer.from('version two, longer'));
      const live = await k.client.rpc.call<object, Attr__Output>(k.client.rpc.clients.view, 'GetAttr', {
        ino: st.ino,
      });
      const old = await k.client.rpc.call<object, Attr__Output>(k.client.rpc.clients.view, 'GetAttr', {
        ino: st.ino,
        read: { pin: pin.pin, minSeq: 0 },
      });
      expect(live.size).toBe('version two, longer'.length);
      expect(old.size).toBe('version one'.length);
      expect(old.version).toBeLessThanOrEqual(pin.watermark);
      await new Promise((r) => setTimeout(r, 2000));
      await expect(
        k.client.rpc.call(k.client.rpc.clients.view, 'GetAttr', {
          ino: st.ino,
          read: { pin: pin.pin, minSeq: 0 },
        }),
      ).rejects.toMatchObject({ code: 'KISEKI_E_PIN_EXPIRED' });
    } finally {
      await k.close();
    }
  });

  it('I-L1, I-L7: the log reads back in order; headers are system-visible, names stay sealed', async () => {
    const shard = (await status()).shards[0]!;
    const r = await admin.call<object, ReadRangeResponse__Output>(
      admin.clients.log,
      'ReadRange',
      { shard: shard.shard, from: 1, to: shard.committed, maxBytes: 1 << 20 },
      { token },
    );
    expect(r.entries.length).toBeGreaterThan(0);
    for (const [i, e] of r.entries.entries()) expect(e.seq).toBe(r.entries[0]!.seq + i);
    for (const e of r.entries) {
      const env = decodeDeltaEnvelope(e.delta);
      const h = DeltaHeaderCodec.decode(env.header);
      expect(h.tenant).toBe('default');
      expect(['create', 'remove', 'rename', 'setattr', 'write']).toContain(h.op);
      expect(e.delta.includes(Buffer.from('pinned.txt'))).toBe(false);
    }
  });

  it('Log.Append validates raw deltas like a mutation and needs the admin token', async () => {
    const shard = (await status()).shards[0]!;
    const first = (
      await admin.call<object, ReadRangeResponse__Output>(
        admin.clients.log,
        'ReadRange',
        { shard: shard.shard, from: 1, to: 1 },
        { token },
      )
    ).entries[0]!;
    // Replaying the very first create: its name exists now, so validation refuses it.
    await expect(
      admin.call<object, AppendResponse__Output>(
        admin.clients.log,
        'Append',
        { shard: shard.shard, deltas: [first.delta] },
        { token },
      ),
    ).rejects.toMatchObject({ code: 'KISEKI_E_EXIST' });
    await expect(
      admin.call(
        admin.clients.log,
        'Append',
        { shard: shard.shard, deltas: [Buffer.from('garbage')] },
        { token },
      ),
    ).rejects.toMatchObject({ code: 'KISEKI_E_CORRUPT' });
    await expect(
      admin.call(
        admin.clients.log,
        'Append',
        { shard: shard.shard, deltas: [first.delta] },
        { token: 'not-the-token' },
      ),
    ).rejects.toMatchObject({ code: 'KISEKI_E_AUTH' });
    expect((await status()).shards[0]!.committed).toBe(shard.committed);
  });
});
