/**
 * Advisory locks across clients of a real kiseki-server: conflicts, waits, F_GETLK, flock, a
 * killed holder losing its locks after the lease, and reclaim after a server restart.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Kiseki } from '@kiseki/client';
import { KisekiError } from '@kiseki/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  caFile,
  cleanup,
  credentialFile,
  exited,
  ROOT,
  type ServerHandle,
  sdk,
  startServer,
  tempDir,
  waitForOutput,
} from './harness.ts';

const LEASE_MS = 2000;
const code = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (e) => (e instanceof KisekiError ? e.code : Promise.reject(e)),
  );

describe('advisory locks across clients', () => {
  let server: ServerHandle;
  let a: Kiseki;
  let b: Kiseki;
  let ino: number;

  beforeAll(async () => {
    const home = tempDir('home');
    writeFileSync(join(home, 'config.json'), JSON.stringify({ lockLeaseMs: LEASE_MS }));
    server = await startServer({ home, deviceSizeBytes: 256 * 1024 ** 2 });
    a = await sdk(server);
    b = await sdk(server);
    await a.fs.writeFile('/db', Buffer.alloc(4096));
    ino = (await a.fs.stat('/db')).ino;
    // Past the restart grace, in which only reclaims are granted.
    await new Promise((r) => setTimeout(r, LEASE_MS));
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await server?.stop();
    if (server) cleanup(server.home);
  });

  it('POSIX record locks: conflicts across clients, F_GETLK, byte ranges, and a waiter granted on unlock', async () => {
    const posix = (owner: string, start: number, length: number) => ({
      ino,
      kind: 'posix' as const,
      owner,
      start,
      length,
    });
    await a.client.locks.lock(posix('o1', 0, 100), 'write');
    expect(await code(b.client.locks.lock(posix('o2', 50, 10), 'read'))).toBe('KISEKI_E_AGAIN');
    expect(await b.client.locks.test(posix('o2', 50, 10), 'read')).toMatchObject({
      type: 'write',
      start: 0,
      length: 100,
      pid: process.pid,
    });
    await b.client.locks.lock(posix('o2', 100, 0), 'write'); // [100, EOF) is free
    const waited = b.client.locks.lock(posix('o2', 0, 10), 'write', { wait: true });
    await new Promise((r) => setTimeout(r, 200));
    await a.client.locks.unlock(posix('o1', 0, 0));
    await waited;
    expect(b.client.locks.held()[0]?.ranges.map((r) => [r.start, r.end])).toEqual([
      [100, Number.POSITIVE_INFINITY],
      [0, 9],
    ]);
    await b.client.locks.unlock(posix('o2', 0, 0));
    expect(await a.client.locks.test(posix('o1', 0, 0), 'write')).toBeUndefined();
  });

  it('flock: shared locks coexist, an exclusive one waits for them, and LOCK_NB fails at once', async () => {
    const fl = (owner: string) => ({ ino, kind: 'flock' as const, owner });
    await a.client.locks.lock(fl('fa'), 'read');
    await b.client.locks.lock(fl('fb'), 'read');
    expect(await code(b.client.locks.lock(fl('fb'), 'write'))).toBe('KISEKI_E_AGAIN');
    const exclusive = b.client.locks.lock(fl('fb'), 'write', { wait: true });
    await a.client.locks.unlock(fl('fa'));
    await exclusive;
    expect(await code(a.client.locks.lock(fl('fa'), 'read'))).toBe('KISEKI_E_AGAIN');
    await b.client.locks.unlock(fl('fb'));
  });

  it('a holder killed with SIGKILL loses its lock once its lease runs out', async () => {
    const child = spawn(
      join(ROOT, 'bin/run-ts'),
      [
        join(ROOT, 'test/e2e/lib/lock-holder.ts'),
        server.address,
        caFile(server.home),
        credentialFile(server.home),
        '/db',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      await waitForOutput(child, /locked/, 'lock-holder');
    } catch (err) {
      child.kill('SIGKILL');
      throw err;
    }
    const spec = { ino, kind: 'posix' as const, owner: 'after', start: 0, length: 0 };
    expect(await code(a.client.locks.lock(spec, 'write'))).toBe('KISEKI_E_AGAIN');
    child.kill('SIGKILL');
    await exited(child);
    const t0 = Date.now();
    await a.client.locks.lock(spec, 'write', { wait: true });
    const waitedMs = Date.now() - t0;
    expect(waitedMs).toBeLessThan(LEASE_MS * 3);
    await a.client.locks.unlock(spec);
  });

  it('after a server restart, a client reclaims the locks it held and others are kept out', async () => {
    const spec = { ino, kind: 'posix' as const, owner: 'keeper', start: 10, length: 20 };
    await a.client.locks.lock(spec, 'write');
    await server.kill('SIGKILL');
    await server.restart();
    // a's renewal sees the new epoch and reclaims within the grace period.
    await new Promise((r) => setTimeout(r, LEASE_MS * 1.5));
    expect(await code(b.client.locks.lock({ ...spec, owner: 'intruder' }, 'write'))).toBe('KISEKI_E_AGAIN');
    expect(await b.client.locks.test({ ...spec, owner: 'intruder' }, 'write')).toMatchObject({
      start: 10,
      length: 20,
    });
    await a.client.locks.unlock(spec);
    await b.client.locks.lock({ ...spec, owner: 'intruder' }, 'write');
    await b.client.locks.unlock({ ...spec, owner: 'intruder' });
  });
});
