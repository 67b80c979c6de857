/**
 * The libfuse3 low-level binding under mount.kiseki: new entries belong to the caller, many
 * requests are in flight at once, and the session ends cleanly however the mount goes away
 * (fusermount3 -u from outside, SIGTERM, a connection aborted in the kernel).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, exited, type MountHandle, mountFs, type ServerHandle, startServer } from './harness.ts';

const MiB = 1024 * 1024;

/** Runs a command as another user (setpriv from util-linux). */
function asUser(uid: number, cmd: string[], cwd: string): void {
  execFileSync('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', ...cmd], {
    cwd,
    timeout: 30_000,
  });
}

describe('mount.kiseki on libfuse3', () => {
  let server: ServerHandle;
  let mnt: MountHandle;

  beforeAll(async () => {
    server = await startServer({ deviceSizeBytes: 256 * MiB });
    mnt = await mountFs(server);
  });
  afterAll(async () => {
    await mnt?.unmount();
    await server?.stop();
    if (mnt) cleanup(mnt.mountpoint);
    if (server) cleanup(server.home);
  });

  it('files, directories and symlinks made through the mount belong to the caller, not to the mount process', () => {
    const shared = join(mnt.mountpoint, 'shared');
    mkdirSync(shared);
    chmodSync(shared, 0o777);
    asUser(4321, ['sh', '-c', 'echo hi > f && mkdir d && ln -s f l'], shared);
    for (const name of ['f', 'd', 'l']) {
      const st = lstatSync(join(shared, name));
      expect([name, st.uid, st.gid]).toEqual([name, 4321, 4321]);
    }
    // default_permissions: the kernel enforces modes against the caller.
    chmodSync(join(shared, 'f'), 0o600);
    expect(() => asUser(1234, ['cat', 'f'], shared)).toThrow();
    expect(readFileSync(join(shared, 'f'), 'utf8')).toBe('hi\n');
  });

  it('parallel writers and readers of 1 MiB requests all get their bytes', async () => {
    const files = Array.from({ length: 6 }, (_, i) => ({
      path: join(mnt.mountpoint, `par-${i}.bin`),
      data: randomBytes(3 * MiB + i * 4099),
    }));
    await Promise.all(files.map((f) => fsp.writeFile(f.path, f.data)));
    const back = await Promise.all(files.map((f) => fsp.readFile(f.path)));
    expect(back.map((b, i) => b.equals(files[i]!.data))).toEqual(files.map(() => true));
    const listing = (await fsp.readdir(mnt.mountpoint)).filter((n) => n.startsWith('par-')).sort();
    expect(listing).toEqual(files.map((_, i) => `par-${i}.bin`));
  });

  it('a directory of 400 entries lists completely across readdir pages', async () => {
    const dir = join(mnt.mountpoint, 'many');
    mkdirSync(dir);
    const names = Array.from({ length: 400 }, (_, i) => `entry-with-a-rather-long-name-to-fill-pages-${i}`);
    for (let i = 0; i < names.length; i += 100)
      await Promise.all(names.slice(i, i + 100).map((n) => fsp.writeFile(join(dir, n), '')));
    expect((await fsp.readdir(dir)).sort()).toEqual([...names].sort());
  });
});

describe('the session ends cleanly', () => {
  let server: ServerHandle;

  beforeAll(async () => {
    server = await startServer({ deviceSizeBytes: 64 * MiB });
  });
  afterAll(async () => {
    await server?.stop();
    if (server) cleanup(server.home);
  });

  it('fusermount3 -u from outside: mount.kiseki exits 0 and what was written is stored', async () => {
    const m = await mountFs(server);
    try {
      writeFileSync(join(m.mountpoint, 'kept.txt'), 'kept\n');
      spawnSync('fusermount3', ['-u', m.mountpoint]);
      expect(await exited(m.proc)).toBe(0);
      expect(m.log()).toMatch(/was unmounted/);
    } finally {
      await m.unmount();
    }
    const again = await mountFs(server, { mountpoint: m.mountpoint });
    try {
      expect(readFileSync(join(again.mountpoint, 'kept.txt'), 'utf8')).toBe('kept\n');
    } finally {
      await again.unmount();
      cleanup(again.mountpoint);
    }
  });

  it('SIGTERM with a file open for writing: the data is flushed and the mount removed', async () => {
    const m = await mountFs(server);
    const fh = await fsp.open(join(m.mountpoint, 'open.bin'), 'w');
    const data = randomBytes(MiB + 5);
    await fh.write(data);
    m.proc.kill('SIGTERM');
    expect(await exited(m.proc)).toBe(0);
    await fh.close().catch(() => {}); // the connection is gone: close may fail, nothing hangs
    await m.unmount();
    const again = await mountFs(server, { mountpoint: m.mountpoint });
    try {
      expect(readFileSync(join(again.mountpoint, 'open.bin')).equals(data)).toBe(true);
    } finally {
      await again.unmount();
      cleanup(again.mountpoint);
    }
  });

  it('a connection aborted in the kernel ends mount.kiseki with a message instead of hanging', async () => {
    const m = await mountFs(server);
    try {
      const dev = statSync(m.mountpoint).dev;
      const minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);
      writeFileSync(`/sys/fs/fuse/connections/${minor}/abort`, '1');
      expect(await exited(m.proc)).toBe(0);
      expect(m.log()).toMatch(/FUSE connection ended/);
    } finally {
      spawnSync('umount', ['-l', m.mountpoint], { stdio: 'ignore' });
      await m.unmount();
      cleanup(m.mountpoint);
    }
  });
});
