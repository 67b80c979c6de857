/**
 * I-K5 crypto-shred: `kiseki tenant shred` on a tenant whose KEK is in a real SoftHSM2 token,
 * while a client has its file open and cached (memory and the L2 disk cache): within the bound
 * (server key cache TTL + client key cache TTL) reads fail with KISEKI_E_SHREDDED, no plaintext
 * of the tenant is on any cache on disk, and another tenant is untouched.
 */
import { execFile } from 'node:child_process';
import { closeSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pkcs11Kms } from '../../../server/src/keys/providers/pkcs11.ts';
import { createSoftHsmToken, type SoftHsmToken, softHsmAvailable } from '../../kms-servers/softhsm.ts';
import {
  CLI_BIN,
  cleanup,
  filesUnder,
  type MountHandle,
  mountFs,
  type ServerHandle,
  sdk,
  startServer,
  tempDir,
} from '../harness.ts';

const run = promisify(execFile);
const KEY_CACHE_TTL_MS = 1_000;
/** Server cache + client cache + one poll and some slack on a loaded machine. */
const SHRED_BOUND_MS = 2 * KEY_CACHE_TTL_MS + 3_000;
const MIB = 1024 * 1024;

describe.skipIf(!softHsmAvailable())('I-K5: crypto-shred of a tenant', () => {
  let token: SoftHsmToken;
  let server: ServerHandle;
  let cacheDir: string;
  const kiseki = async (...args: string[]) =>
    (await run(CLI_BIN, ['--home', server.home, ...args], { timeout: 120_000, env: process.env })).stdout;

  beforeAll(async () => {
    token = createSoftHsmToken();
    process.env.SOFTHSM2_CONF = token.conf;
    writeFileSync(join(token.dir, 'pin'), token.pin, { mode: 0o600 });
    const home = tempDir('shred-home');
    cacheDir = tempDir('shred-cache');
    writeFileSync(join(home, 'config.json'), JSON.stringify({ keyCacheTtlMs: KEY_CACHE_TTL_MS }));
    server = await startServer({ home, deviceSizeBytes: 256 * MIB });
    await kiseki(
      ...['tenant', 'create', 'victim', '--kms', 'pkcs11', '--kms-library', token.library],
      ...['--kms-token-label', token.tokenLabel, '--kms-pin-file', join(token.dir, 'pin')],
    );
    await kiseki('tenant', 'create', 'bystander');
  });
  afterAll(async () => {
    await server?.stop();
    token?.cleanup();
    if (server) cleanup(server.home);
    if (cacheDir) cleanup(cacheDir);
  });

  it('I-K5: reads fail with KISEKI_E_SHREDDED within the bound, caches on disk hold no plaintext, other tenants untouched', async () => {
    const marker = `victim-plaintext-${'x'.repeat(16)}`;
    const body = Buffer.from(`${marker}\n`.repeat(40_000)); // ~1 MiB: real chunks, in the L2 cache
    let mount: MountHandle | undefined;
    const victim = await sdk(server, 'victim', {
      l2: { dir: cacheDir, capacityBytes: 64 * MIB, mode: 'organic' },
    });
    const bystander = await sdk(server, 'bystander');
    try {
      await victim.fs.writeFile('/secret.txt', body);
      expect((await victim.fs.readFile('/secret.txt')).equals(body)).toBe(true);
      mount = await mountFs(server, { tenant: 'victim' });
      expect(readFileSync(join(mount.mountpoint, 'secret.txt')).equals(body)).toBe(true); // cached by the mount too
      await bystander.fs.writeFile('/fine.txt', Buffer.from('still here'));
      expect(victim.client.l2!.stats().entries).toBeGreaterThan(0); // the L2 disk cache holds its chunks

      await expect(kiseki('tenant', 'shred', 'victim')).rejects.toThrow(/add --yes/);
      const t0 = Date.now();
      expect(await kiseki('tenant', 'shred', 'victim', '--yes')).toMatch(/tenant victim shredded/);

      let err: (Error & { code?: string }) | undefined;
      while (Date.now() - t0 < SHRED_BOUND_MS + 5_000) {
        err = await victim.fs.readFile('/secret.txt').then(
          () => undefined,
          (e: Error & { code?: string }) => e,
        );
        if (err) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      const elapsedMs = Date.now() - t0;
      let fuseErr: NodeJS.ErrnoException | undefined;
      while (Date.now() - t0 < SHRED_BOUND_MS + 5_000) {
        try {
          readFileSync(join(mount.mountpoint, 'secret.txt')); // a fresh open through the mount
        } catch (e) {
          fuseErr = e as NodeJS.ErrnoException;
          break;
        }
        await new Promise((r) => setTimeout(r, 200));
      }
      const fuseElapsedMs = Date.now() - t0;
      if (process.env.KISEKI_REPORT_SHRED_MS)
        process.stderr.write(`FUSE: ${fuseErr?.code} after ${fuseElapsedMs} ms\n`);
      expect(fuseErr?.code).toBe('EACCES');
      expect(fuseElapsedMs).toBeLessThan(SHRED_BOUND_MS);
      expect(err?.code).toBe('KISEKI_E_SHREDDED');
      expect(elapsedMs).toBeLessThan(SHRED_BOUND_MS);
      if (process.env.KISEKI_REPORT_SHRED_MS)
        process.stderr.write(`shred took effect after ${elapsedMs} ms\n`);
      await expect(victim.fs.writeFile('/more.txt', Buffer.from('no'))).rejects.toMatchObject({
        code: 'KISEKI_E_SHREDDED',
      });
      await expect(sdk(server, 'victim').then((k) => k.fs.readFile('/secret.txt'))).rejects.toMatchObject({
        code: 'KISEKI_E_SHREDDED',
      });

      expect((await bystander.fs.readFile('/fine.txt')).toString()).toBe('still here');
      for (const f of filesUnder(cacheDir)) expect(readFileSync(f).includes(marker), f).toBe(false);
      for (const f of filesUnder(server.home)) expect(readFileSync(f).includes(marker), f).toBe(false);
      const hsm = new Pkcs11Kms({ library: token.library, tokenLabel: token.tokenLabel, pin: token.pin });
      expect(await hsm.health({ tenant: 'victim' })).toMatchObject({
        ok: false,
        detail: /no KEK in the token/,
      });
      await hsm.close();
      expect(await kiseki('key', 'status', 'victim')).toMatch(/kms=pkcs11 SHREDDED/);
      await expect(kiseki('key', 'rotate', 'victim')).rejects.toThrow(/crypto-shredded/);
      expect(await kiseki('audit', 'victim')).toMatch(
        /admin:\S+\s+tenant\.shred .*kms=pkcs11 ok\n(.*\n)*chain ok/,
      );
    } finally {
      await mount?.unmount();
      await victim.close().catch(() => {});
      await bystander.close();
    }
  });

  // The mount watches its tenant's keys and, on a shred, drops what the kernel caches for it
  // (pages of open files) and refuses every request.
  it('I-K5: a read through a FUSE handle opened before the shred is refused within the bound', async () => {
    await kiseki('tenant', 'create', 'victim2');
    const k = await sdk(server, 'victim2');
    await k.fs.writeFile('/held.txt', Buffer.alloc(256 * 1024, 7));
    await k.close();
    const m = await mountFs(server, { tenant: 'victim2' });
    const fd = openSync(join(m.mountpoint, 'held.txt'), 'r');
    try {
      readSync(fd, Buffer.alloc(4096), 0, 4096, 0);
      await kiseki('tenant', 'shred', 'victim2', '--yes');
      const t0 = Date.now();
      let code: string | undefined;
      while (!code && Date.now() - t0 < SHRED_BOUND_MS) {
        try {
          readSync(fd, Buffer.alloc(4096), 0, 4096, 0);
        } catch (e) {
          code = (e as NodeJS.ErrnoException).code;
        }
        await new Promise((r) => setTimeout(r, 250));
      }
      expect(code).toBe('EACCES');
    } finally {
      closeSync(fd);
      await m.unmount();
    }
  });
});
