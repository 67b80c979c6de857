/**
 * A tenant's KMS goes away under a running server: once the key caches expire, that tenant's
 * reads and writes fail with a clear KISEKI_E_UNAVAILABLE (the resilience layer's breaker opens
 * instead of hammering the KMS); when the KMS is back, the same client session goes on and
 * nothing written before, during or after was lost or damaged.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestPki } from '../../kms-servers/certs.ts';
import { startVaultTestServer, type VaultTestServer } from '../../kms-servers/vault.ts';
import { CLI_BIN, cleanup, type ServerHandle, sdk, startServer, tempDir } from '../harness.ts';

const run = promisify(execFile);
const KEY_CACHE_TTL_MS = 1_000;
/** Key caches (server, client) plus the breaker's open time (10 s default) and slack. */
const RECOVERY_BOUND_MS = 2 * KEY_CACHE_TTL_MS + 10_000 + 5_000;

async function until<T>(
  what: string,
  boundMs: number,
  probe: () => Promise<T | undefined>,
): Promise<{ value: T; ms: number }> {
  const t0 = Date.now();
  for (;;) {
    const value = await probe();
    if (value !== undefined) return { value, ms: Date.now() - t0 };
    if (Date.now() - t0 > boundMs) throw new Error(`${what}: not within ${boundMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('a tenant KMS outage under a running server', () => {
  let dir: string;
  let vault: VaultTestServer;
  let server: ServerHandle;

  beforeAll(async () => {
    dir = tempDir('outage-pki');
    const pki = makeTestPki(dir);
    vault = await startVaultTestServer(pki);
    writeFileSync(join(dir, 'token'), vault.kisekiToken, { mode: 0o600 });
    const home = tempDir('outage-home');
    writeFileSync(join(home, 'config.json'), JSON.stringify({ keyCacheTtlMs: KEY_CACHE_TTL_MS }));
    server = await startServer({ home, deviceSizeBytes: 256 * 1024 ** 2 });
    await run(
      CLI_BIN,
      [
        ...['--home', home, 'tenant', 'create', 'oa', '--kms', 'vault', '--kms-url', vault.url],
        ...['--kms-token-file', join(dir, 'token'), '--kms-ca-file', pki.caCert],
      ],
      { timeout: 120_000 },
    );
  });
  afterAll(async () => {
    await server?.stop();
    await vault?.close();
    if (server) cleanup(server.home);
    if (dir) cleanup(dir);
  });

  it('sealed Vault: reads fail with a clear KISEKI_E_UNAVAILABLE after the client retry window, the breaker spares the KMS; unsealed: the same session goes on, nothing lost', async () => {
    const k = await sdk(server, 'oa');
    const before = Buffer.from('written before the outage\n'.repeat(5_000));
    try {
      await k.fs.writeFile('/before.txt', before);
      vault.faults.sealed = true;
      // The client rides out KISEKI_E_UNAVAILABLE for its retry window (20 s) before giving up;
      // meanwhile the server's breaker keeps its calls to the sealed Vault few.
      const calls = vault.requests.length;
      const down = await until('reads fail', 2 * KEY_CACHE_TTL_MS + 30_000, () =>
        k.fs.readFile('/before.txt').then(
          () => undefined,
          (e: Error & { code?: string }) => e,
        ),
      );
      expect(down.value.code).toBe('KISEKI_E_UNAVAILABLE');
      expect(down.value.message).toMatch(/Vault|KMS/);
      expect(vault.requests.length - calls).toBeLessThan(30);

      vault.faults.sealed = false;
      const up = await until('reads work again', RECOVERY_BOUND_MS, () =>
        k.fs.readFile('/before.txt').catch(() => undefined),
      );
      expect(up.value.equals(before)).toBe(true);
      await k.fs.writeFile('/after.txt', Buffer.from('written after'));
    } finally {
      vault.faults.sealed = false;
      await k.close();
    }
    const fresh = await sdk(server, 'oa');
    try {
      expect((await fresh.fs.readFile('/before.txt')).equals(before)).toBe(true);
      expect((await fresh.fs.readFile('/after.txt')).toString()).toBe('written after');
    } finally {
      await fresh.close();
    }
  });
});
