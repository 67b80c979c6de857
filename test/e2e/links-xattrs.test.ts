/**
 * Hard links and extended attributes through the SDK against a real kiseki-server: POSIX
 * semantics, limits, sealing of xattr names and values, and survival of a view rebuild.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Kiseki } from '@kiseki/client';
import { KisekiError } from '@kiseki/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, filesUnder, type ServerHandle, sdk, startServer } from './harness.ts';

const code = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (e) {
    if (e instanceof KisekiError) return e.code;
    throw e;
  }
  return 'ok';
};

describe('hard links and extended attributes (SDK)', () => {
  let server: ServerHandle;
  let k: Kiseki;

  beforeAll(async () => {
    server = await startServer({ deviceSizeBytes: 256 * 1024 ** 2 });
    k = await sdk(server);
  });
  afterAll(async () => {
    await k?.close();
    await server?.stop();
    if (server) cleanup(server.home);
  });

  it('a hard link shares data and nlink; the data lives until the last name goes', async () => {
    const body = randomBytes(3 * 1024 * 1024 + 17);
    await k.fs.mkdir('/l');
    await k.fs.writeFile('/l/a', body);
    const a = await k.fs.stat('/l/a');
    const l = await k.fs.locate('/l/b');
    const linked = await k.client.link(a.ino, l.parent, l.name);
    expect(linked.nlink).toBe(2);
    const b = await k.fs.stat('/l/b');
    expect(b.ino).toBe(a.ino);
    expect(Buffer.compare(await k.fs.readFile('/l/b'), body)).toBe(0);
    expect((await k.fs.readdir('/l')).map((e) => e.name).sort()).toEqual(['a', 'b']);

    await k.fs.unlink('/l/a');
    expect((await k.fs.stat('/l/b')).nlink).toBe(1);
    expect(Buffer.compare(await k.fs.readFile('/l/b'), body)).toBe(0);
    // Renaming one link over another of the same inode is a no-op (POSIX).
    const c = await k.fs.locate('/l/c');
    await k.client.link(b.ino, c.parent, c.name);
    await k.fs.rename('/l/b', '/l/c');
    expect((await k.fs.readdir('/l')).map((e) => e.name).sort()).toEqual(['b', 'c']);
    await k.fs.unlink('/l/b');
    await k.fs.unlink('/l/c');
    expect(await code(k.client.getattr(a.ino))).toBe('KISEKI_E_NOENT');
  });

  it('link refuses directories, symlinks, taken names and missing inodes with the right errors', async () => {
    await k.fs.mkdir('/m');
    await k.fs.mkdir('/m/d');
    await k.fs.writeFile('/m/f', Buffer.from('x'));
    await k.fs.symlink('f', '/m/s');
    const m = await k.fs.stat('/m');
    const d = await k.fs.stat('/m/d');
    const f = await k.fs.stat('/m/f');
    const s = await k.fs.lstat('/m/s');
    expect(await code(k.client.link(d.ino, m.ino, 'd2'))).toBe('KISEKI_E_PERM');
    expect(await code(k.client.link(s.ino, m.ino, 's2'))).toBe('KISEKI_E_PERM');
    expect(await code(k.client.link(f.ino, m.ino, 'd'))).toBe('KISEKI_E_EXIST');
    expect(await code(k.client.link(999_999, m.ino, 'g'))).toBe('KISEKI_E_NOENT');
    expect(await code(k.client.link(f.ino, f.ino, 'g'))).toBe('KISEKI_E_NOTDIR');
    expect(await code(k.client.link(f.ino, m.ino, '..'))).toBe('KISEKI_E_INVAL');
    expect((await k.fs.stat('/m/f')).nlink).toBe(1);
  });

  it('xattrs: set, create, replace, list, get, remove, with POSIX errors', async () => {
    await k.fs.writeFile('/x', Buffer.from('data'));
    const x = await k.fs.stat('/x');
    expect(x.xattrs).toBe(0);
    await k.client.setxattr(x.ino, 'user.one', Buffer.from('1'));
    await k.client.setxattr(x.ino, 'user.bin', Buffer.from([0, 1, 2, 255]));
    await k.client.setxattr(x.ino, 'user.empty', Buffer.alloc(0));
    expect(await code(k.client.setxattr(x.ino, 'user.one', Buffer.from('2'), 'create'))).toBe(
      'KISEKI_E_EXIST',
    );
    expect(await code(k.client.setxattr(x.ino, 'user.none', Buffer.from('2'), 'replace'))).toBe(
      'KISEKI_E_NODATA',
    );
    await k.client.setxattr(x.ino, 'user.one', Buffer.from('uno'), 'replace');
    const all = await k.client.xattrs(x.ino);
    expect([...all.keys()].sort()).toEqual(['user.bin', 'user.empty', 'user.one']);
    expect(all.get('user.one')!.toString()).toBe('uno');
    expect([...(await k.client.getxattr(x.ino, 'user.bin'))]).toEqual([0, 1, 2, 255]);
    expect((await k.client.getxattr(x.ino, 'user.empty')).length).toBe(0);
    expect((await k.fs.stat('/x')).xattrs).toBe(3);
    await k.client.removexattr(x.ino, 'user.bin');
    expect(await code(k.client.removexattr(x.ino, 'user.bin'))).toBe('KISEKI_E_NODATA');
    expect(await code(k.client.getxattr(x.ino, 'user.bin'))).toBe('KISEKI_E_NODATA');
    expect(await code(k.client.setxattr(x.ino, 'u'.repeat(256), Buffer.alloc(1)))).toBe('KISEKI_E_RANGE');
    expect(await code(k.client.setxattr(x.ino, 'user.big', Buffer.alloc(64 * 1024 + 1)))).toBe(
      'KISEKI_E_TOOBIG',
    );
    await k.client.setxattr(x.ino, 'user.max', Buffer.alloc(64 * 1024, 7));
    expect((await k.client.getxattr(x.ino, 'user.max')).length).toBe(64 * 1024);
    expect((await k.fs.stat('/x')).xattrs).toBe(3);
    expect(await code(k.client.setxattr(424_242, 'user.a', Buffer.from('v')))).toBe('KISEKI_E_NOENT');
    // Directories carry xattrs too; unlinking an inode drops its xattrs with it.
    await k.fs.mkdir('/xd');
    const xd = await k.fs.stat('/xd');
    await k.client.setxattr(xd.ino, 'user.dir', Buffer.from('yes'));
    expect((await k.client.getxattr(xd.ino, 'user.dir')).toString()).toBe('yes');
    await k.fs.unlink('/x');
    expect(await code(k.client.xattrs(x.ino))).toBe('KISEKI_E_NOENT');
  });

  it('I-K1: xattr names and values are sealed: neither appears in any file under the data directory', async () => {
    const name = `user.marker-${randomBytes(8).toString('hex')}`;
    const value = randomBytes(32);
    await k.fs.writeFile('/sealed', Buffer.from('s'));
    const st = await k.fs.stat('/sealed');
    await k.client.setxattr(st.ino, name, value);
    await server.stop();
    try {
      const needles = [
        Buffer.from(name),
        value,
        Buffer.from(value.toString('hex')),
        Buffer.from(value.toString('base64')),
      ];
      for (const f of filesUnder(server.home)) {
        if (statSync(f).size > 1024 ** 3) continue;
        const bytes = readFileSync(f);
        for (const n of needles) expect(bytes.includes(n), `${f} holds a plaintext xattr`).toBe(false);
      }
    } finally {
      await server.restart();
      await k.close();
      k = await sdk(server);
    }
    expect((await k.client.getxattr(st.ino, name)).equals(value)).toBe(true);
  });

  it('I-V1: links and xattrs come back the same after the view is rebuilt from the log', async () => {
    await k.fs.writeFile('/r1', Buffer.from('rebuilt'));
    const r = await k.fs.stat('/r1');
    const root = await k.fs.stat('/');
    await k.client.link(r.ino, root.ino, 'r2');
    await k.client.setxattr(r.ino, 'user.keep', Buffer.from('kept'));
    await k.client.setxattr(r.ino, 'user.gone', Buffer.from('x'));
    await k.client.removexattr(r.ino, 'user.gone');
    await k.close();
    await server.stop();
    rmSync(join(server.home, 'view'), { recursive: true, force: true });
    await server.restart();
    k = await sdk(server);
    const again = await k.fs.stat('/r2');
    expect(again.ino).toBe(r.ino);
    expect(again.nlink).toBe(2);
    expect(again.xattrs).toBe(1);
    expect([...(await k.client.xattrs(r.ino)).entries()].map(([n, v]) => [n, v.toString()])).toEqual([
      ['user.keep', 'kept'],
    ]);
    expect((await k.fs.readFile('/r1')).toString()).toBe('rebuilt');
  });
});
