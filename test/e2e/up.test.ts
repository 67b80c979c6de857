/**
 * The newcomer's command: `kiseki up` starts a node and a mount, says when it is ready, and
 * stops cleanly; a second start reuses the data.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI_BIN, cleanup, exited, freePortPair, tempDir, waitForOutput } from './harness.ts';

function isMounted(path: string): Promise<boolean> {
  return readFile('/proc/self/mounts', 'utf8').then((m) =>
    m.split('\n').some((l) => l.split(' ')[1] === path),
  );
}

describe('kiseki up', () => {
  const home = tempDir('up-home');
  const base = tempDir('up-mnt');
  const mnt = join(base, 'kiseki');

  afterAll(() => {
    cleanup(mnt);
    cleanup(base);
    cleanup(home);
  });

  async function up(port: number) {
    const p = spawn(
      CLI_BIN,
      ['--home', home, 'up', '--mount', mnt, '--port', String(port), '--device-size', '512M'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const m = await waitForOutput(p, /kiseki: ready at (.*)\n/, 'kiseki up', 120_000);
    return { p, ready: m[1] };
  }

  it('prints the ready line, serves files, stops on SIGTERM, and reuses the data on the next start', async () => {
    const port = await freePortPair();
    mkdirSync(mnt);
    const first = await up(port);
    expect(first.ready).toBe(mnt);
    expect(await isMounted(mnt)).toBe(true);
    await writeFile(join(mnt, 'kept.txt'), 'still here after a restart\n');

    first.p.kill('SIGTERM');
    expect(await exited(first.p)).toBe(0);
    expect(await isMounted(mnt)).toBe(false);
    expect(existsSync(join(home, 'server.json'))).toBe(false);

    const second = await up(port);
    try {
      expect(await readFile(join(mnt, 'kept.txt'), 'utf8')).toBe('still here after a restart\n');
    } finally {
      second.p.kill('SIGINT');
      expect(await exited(second.p)).toBe(0);
    }
    expect(await isMounted(mnt)).toBe(false);
  });

  it('fails with a clear message when --mount names a missing directory', async () => {
    const port = await freePortPair();
    const p = spawn(
      CLI_BIN,
      ['--home', home, 'up', '--mount', join(base, 'no', 'such', 'dir'), '--port', String(port)],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let err = '';
    p.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    expect(await exited(p)).not.toBe(0);
    expect(err).toMatch(/mount point .*no\/such\/dir does not exist/);
  });
});
