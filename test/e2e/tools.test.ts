/**
 * Real tools on a real mount (issue 6): git clone and status, fio random read/write with
 * verification, and fsync durability: what fsync acknowledged survives kill -9 of both the
 * client (mount.kiseki) and the server.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cleanup,
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
const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 't',
  GIT_AUTHOR_EMAIL: 't@example.org',
  GIT_COMMITTER_NAME: 't',
  GIT_COMMITTER_EMAIL: 't@example.org',
  GIT_CONFIG_NOSYSTEM: '1',
  HOME: '/nonexistent',
};
const git = (args: string[], cwd?: string) => sh('git', args, { cwd, env: GIT_ENV });

describe('real tools on the mount', () => {
  let server: ServerHandle;
  let mnt: MountHandle;

  beforeAll(async () => {
    // Small random writes rewrite whole 1 MiB blocks (copy on write): a short GC grace gives
    // the space back while the test runs.
    server = await startServer({ deviceSizeBytes: 2048 * MiB, extraArgs: ['--gc-grace-ms', '2000'] });
    mnt = await mountFs(server);
  });
  afterAll(async () => {
    await mnt?.unmount();
    await server?.stop();
    if (mnt) cleanup(mnt.mountpoint);
    if (server) cleanup(server.home);
  });

  it('git clone of a repository made here, then git status is clean and fsck passes', () => {
    const src = tempDir('git-src');
    try {
      git(['init', '-q', '-b', 'main', src]);
      for (let c = 0; c < 5; c++) {
        mkdirSync(join(src, `dir${c}`), { recursive: true });
        for (let f = 0; f < 10; f++)
          writeFileSync(join(src, `dir${c}`, `f${f}.txt`), randomBytes(2000).toString('base64'));
        writeFileSync(join(src, 'bin.dat'), randomBytes(300_000));
        git(['add', '-A'], src);
        git(['commit', '-q', '-m', `commit ${c}`], src);
      }
      const dst = join(mnt.mountpoint, 'clone');
      git(['clone', '-q', src, dst]);
      expect(git(['status', '--porcelain'], dst)).toBe('');
      git(['fsck', '--strict', '--no-progress'], dst);
      // Work in the clone: edit, commit, gc (repacks in place, renames over existing files).
      writeFileSync(join(dst, 'dir0', 'f0.txt'), 'changed\n');
      git(['commit', '-q', '-am', 'edit'], dst);
      git(['gc', '-q'], dst);
      expect(git(['status', '--porcelain'], dst)).toBe('');
      expect(git(['rev-list', '--count', 'HEAD'], dst).trim()).toBe('6');
      git(['fsck', '--strict', '--no-progress'], dst);
    } finally {
      cleanup(src);
    }
  });

  it('fio random read/write with crc32c verification finds no bad block', () => {
    const dir = join(mnt.mountpoint, 'fio');
    mkdirSync(dir);
    const r = spawnSync(
      'fio',
      [
        '--name=verify',
        `--directory=${dir}`,
        '--rw=randrw',
        '--bs=4k',
        '--size=16m',
        '--numjobs=2',
        '--ioengine=psync',
        '--verify=crc32c',
        '--verify_fatal=1',
        '--verify_state_save=0', // else fio leaves local-*-verify.state files in the cwd
        '--do_verify=1',
        '--fsync=512',
        '--runtime=30',
        '--group_reporting',
        '--output-format=terse',
      ],
      { encoding: 'utf8', timeout: 180_000 },
    );
    expect(r.status, r.stderr + r.stdout).toBe(0);
    expect(r.stderr).not.toMatch(/verify|bad/i);
  });

  it('fsync durability: what fsync acknowledged survives kill -9 of the client and of the server', async () => {
    const body = randomBytes(6 * MiB + 123);
    const path = join(mnt.mountpoint, 'durable.bin');
    // python: write, fsync, report, write more, and hold the file open: nothing after the
    // fsync is promised, and the kills come while the file is still open.
    const py = `
import os, sys, time
data = open(sys.argv[2], "rb").read()
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, data)
os.fsync(fd)
os.write(fd, b"unsynced tail")
print("synced", flush=True)
time.sleep(60)
`;
    const src = join(tempDir('fsync-src'), 'body');
    writeFileSync(src, body);
    const writer = spawn('python3', ['-c', py, path, src], { stdio: ['ignore', 'pipe', 'pipe'] });
    await waitForOutput(writer, /synced/, 'fsync writer');
    mnt.proc.kill('SIGKILL');
    await exited(mnt.proc);
    await server.kill('SIGKILL');
    writer.kill('SIGKILL');
    await exited(writer);
    cleanup(dirname(src));
    await mnt.unmount(); // detaches the dead mount
    await server.restart();
    mnt = await mountFs(server, { mountpoint: mnt.mountpoint });
    const back = readFileSync(path);
    expect(back.length).toBeGreaterThanOrEqual(body.length);
    expect(back.subarray(0, body.length).equals(body)).toBe(true);
  });
});
