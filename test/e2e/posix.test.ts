/**
 * POSIX through a real mount: hard links (ln, rsync -H), extended attributes (setfattr and
 * getfattr, tar --xattrs), record locks and flock shared between two mounts of one namespace,
 * and SQLite running transactions on a database in the mount.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cleanup,
  diffTrees,
  exited,
  type MountHandle,
  mountFs,
  type ServerHandle,
  sh,
  startServer,
  tempDir,
  waitForOutput,
} from './harness.ts';

const MiB = 1024 * 1024;
const status = (cmd: string, args: string[]) => spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000 });

describe('POSIX through the mount: links, xattrs, locks, sqlite', () => {
  let server: ServerHandle;
  let a: MountHandle;
  let b: MountHandle;

  beforeAll(async () => {
    server = await startServer({ deviceSizeBytes: 512 * MiB });
    a = await mountFs(server);
    b = await mountFs(server);
  });
  afterAll(async () => {
    await a?.unmount();
    await b?.unmount();
    await server?.stop();
    if (a) cleanup(a.mountpoint);
    if (b) cleanup(b.mountpoint);
    if (server) cleanup(server.home);
  });

  it('hard links: ln shares the inode and data; the other mount sees the link count; unlink keeps the rest', () => {
    const body = randomBytes(2 * MiB + 5);
    const f = join(a.mountpoint, 'orig');
    writeFileSync(f, body);
    linkSync(f, join(a.mountpoint, 'second'));
    const s1 = statSync(f);
    const s2 = statSync(join(a.mountpoint, 'second'));
    expect(s2.ino).toBe(s1.ino);
    expect(s2.nlink).toBe(2);
    expect(statSync(join(b.mountpoint, 'second')).nlink).toBe(2);
    sh('rm', [f]);
    expect(readFileSync(join(b.mountpoint, 'second')).equals(body)).toBe(true);
    expect(statSync(join(a.mountpoint, 'second')).nlink).toBe(1);
    expect(status('ln', [join(a.mountpoint, 'second'), join(a.mountpoint, 'second')]).status).not.toBe(0);
    mkdirSync(join(a.mountpoint, 'adir'));
    const dirLink = status('ln', [join(a.mountpoint, 'adir'), join(a.mountpoint, 'adir2')]);
    expect(dirLink.status).not.toBe(0);
    expect(dirLink.stderr).toMatch(/hard link not allowed for directory|Operation not permitted/);
  });

  it('xattrs: setfattr/getfattr, XATTR_CREATE/REPLACE errors, removal, and the other mount sees them', () => {
    const f = join(a.mountpoint, 'x.txt');
    writeFileSync(f, 'x');
    sh('setfattr', ['-n', 'user.color', '-v', 'blue', f]);
    sh('setfattr', ['-n', 'user.bin', '-v', '0x00ff10', f]);
    expect(sh('getfattr', ['--only-values', '-n', 'user.color', f])).toBe('blue');
    const dump = sh('getfattr', ['-d', '-e', 'hex', f]);
    expect(dump).toMatch(/user\.bin=0x00ff10/);
    expect(dump).toMatch(/user\.color=0x626c7565/);
    // What one mount set, the other reads (after its attribute timeout at most).
    expect(sh('getfattr', ['--only-values', '-n', 'user.color', join(b.mountpoint, 'x.txt')])).toBe('blue');
    const missing = status('getfattr', ['-n', 'user.nope', f]);
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toMatch(/No such attribute/);
    sh('setfattr', ['-x', 'user.color', f]);
    expect(sh('getfattr', ['-d', f])).not.toMatch(/user\.color/);
    expect(status('setfattr', ['-x', 'user.color', f]).stderr).toMatch(/No such attribute/);
    // No ACLs here: setting one fails clearly, reading one finds none.
    expect(status('setfattr', ['-n', 'system.posix_acl_access', '-v', '0x02', f]).status).not.toBe(0);
  });

  it('tar --xattrs and rsync -aHX round trips keep links, symlinks, sparse files and xattrs', () => {
    const src = tempDir('posix-src');
    const back = tempDir('posix-back');
    try {
      mkdirSync(join(src, 'd/e'), { recursive: true });
      writeFileSync(join(src, 'd/e/data'), randomBytes(300_000));
      linkSync(join(src, 'd/e/data'), join(src, 'd/hard'));
      sh('ln', ['-s', 'e/data', join(src, 'd/soft')]);
      sh('truncate', ['-s', '5M', join(src, 'sparse')]);
      writeFileSync(join(src, 'small'), 'tagged');
      sh('setfattr', ['-n', 'user.tag', '-v', 'kiseki', join(src, 'small')]);

      const viaRsync = join(a.mountpoint, 'rsync');
      sh('rsync', ['-aHX', `${src}/`, `${viaRsync}/`]);
      expect(statSync(join(viaRsync, 'd/hard')).ino).toBe(statSync(join(viaRsync, 'd/e/data')).ino);
      expect(sh('getfattr', ['--only-values', '-n', 'user.tag', join(viaRsync, 'small')])).toBe('kiseki');
      sh('rsync', ['-aHX', `${viaRsync}/`, `${back}/`]);
      expect(diffTrees(src, back)).toBe('');
      expect(statSync(join(back, 'd/hard')).nlink).toBe(2);
      expect(sh('getfattr', ['--only-values', '-n', 'user.tag', join(back, 'small')])).toBe('kiseki');

      const viaTar = join(a.mountpoint, 'tar');
      mkdirSync(viaTar);
      sh('sh', ['-c', `tar -C '${src}' --xattrs -cf - . | tar -C '${viaTar}' --xattrs -xf -`]);
      expect(diffTrees(src, viaTar)).toBe('');
      expect(statSync(join(viaTar, 'd/hard')).nlink).toBe(2);
      expect(sh('getfattr', ['--only-values', '-n', 'user.tag', join(viaTar, 'small')])).toBe('kiseki');
      expect(readFileSync(join(viaTar, 'sparse')).equals(Buffer.alloc(5 * MiB))).toBe(true);
    } finally {
      cleanup(src);
      cleanup(back);
    }
  });

  it('flock(1) and fcntl locks taken on one mount hold against the other mount', async () => {
    const f = join(a.mountpoint, 'lockfile');
    writeFileSync(f, '');
    // Its own process group: killing it must end the command that inherited the locked fd too.
    const holder: ChildProcess = spawn('flock', ['-x', f, 'sh', '-c', 'echo held; sleep 30'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    try {
      await waitForOutput(holder, /held/, 'flock holder');
      const other = join(b.mountpoint, 'lockfile');
      expect(status('flock', ['-n', '-x', other, 'true']).status).toBe(1);
      expect(status('flock', ['-n', '-s', other, 'true']).status).toBe(1);
    } finally {
      process.kill(-holder.pid!, 'SIGKILL');
      await exited(holder);
    }
    // The kernel sends the release of the last descriptor in the background: give it a moment.
    let free = 1;
    for (let i = 0; i < 50 && free !== 0; i++) {
      free = status('flock', ['-n', '-x', join(b.mountpoint, 'lockfile'), 'true']).status ?? 1;
      if (free !== 0) await new Promise((r) => setTimeout(r, 100));
    }
    expect(free).toBe(0);

    // fcntl record locks via python: one byte range held on mount a, probed on mount b.
    const py = `
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.lockf(fd, fcntl.LOCK_EX, 10, 100)
print("held", flush=True)
time.sleep(30)`;
    const rec: ChildProcess = spawn('python3', ['-c', py, f], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    try {
      await waitForOutput(rec, /held/, 'fcntl holder');
      const probe = `
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
for start in (0, 105, 200):
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 10, start)
        print(start, "free")
        fcntl.lockf(fd, fcntl.LOCK_UN, 10, start)
    except OSError:
        print(start, "busy")`;
      expect(
        sh('python3', ['-c', probe, join(b.mountpoint, 'lockfile')])
          .trim()
          .split('\n'),
      ).toEqual(['0 free', '105 busy', '200 free']);
    } finally {
      process.kill(-rec.pid!, 'SIGKILL');
      await exited(rec);
    }
  });

  it('mmap: read-only maps read the file; shared writable maps write through to the other mount', () => {
    const f = join(a.mountpoint, 'mapped.bin');
    const body = randomBytes(3 * MiB);
    writeFileSync(f, body);
    const py = `
import mmap, os, sys, hashlib
fd = os.open(sys.argv[1], os.O_RDWR)
ro = mmap.mmap(fd, 0, prot=mmap.PROT_READ)
print(hashlib.sha256(ro[:]).hexdigest())
ro.close()
rw = mmap.mmap(fd, 0, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ | mmap.PROT_WRITE)
rw[1048570:1048580] = b"0123456789"
rw.flush()
rw.close()
os.fsync(fd)
os.close(fd)`;
    const out = sh('python3', ['-c', py, f]).trim();
    expect(out).toBe(createHash('sha256').update(body).digest('hex'));
    Buffer.from('0123456789').copy(body, 1048570);
    expect(readFileSync(join(b.mountpoint, 'mapped.bin')).equals(body)).toBe(true);
  });

  it('utimens keeps nanoseconds; statfs reports the pool; O_EXCL create fails on an existing name', () => {
    const f = join(a.mountpoint, 'times');
    writeFileSync(f, 't');
    sh('touch', ['-m', '-d', '2001-02-03 04:05:06.123456789 UTC', f]);
    expect(sh('stat', ['-c', '%y', join(b.mountpoint, 'times')])).toMatch(/^2001-02-03 04:05:06\.123456789/);
    const df = sh('stat', ['-f', '-c', '%b %S', a.mountpoint]).trim().split(' ').map(Number);
    const capacity = df[0]! * df[1]!;
    expect(capacity).toBeGreaterThan(400 * MiB);
    expect(capacity).toBeLessThanOrEqual(512 * MiB);
    const excl = status('python3', [
      '-c',
      'import os,sys; os.open(sys.argv[1], os.O_CREAT | os.O_EXCL | os.O_WRONLY)',
      f,
    ]);
    expect(excl.stderr).toMatch(/FileExistsError/);
  });

  it('sqlite3 runs transactions on a database in the mount, and the other mount reads it', () => {
    const db = join(a.mountpoint, 'app.db');
    sh('sqlite3', [
      db,
      'PRAGMA journal_mode=DELETE; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);' +
        'BEGIN; INSERT INTO t(v) SELECT hex(randomblob(100)) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c LIMIT 2000) SELECT x FROM c); COMMIT;' +
        "BEGIN; UPDATE t SET v = 'changed' WHERE id % 10 = 0; DELETE FROM t WHERE id % 7 = 0; COMMIT;" +
        'BEGIN; INSERT INTO t(v) VALUES (1); ROLLBACK;',
    ]);
    expect(sh('sqlite3', [db, 'PRAGMA integrity_check;']).trim()).toBe('ok');
    const other = join(b.mountpoint, 'app.db');
    expect(sh('sqlite3', [other, "SELECT count(*), sum(v = 'changed') FROM t;"]).trim()).toBe('1715|172');
  });
});
