/**
 * Provider migration without downtime (internal → Vault): every epoch stays readable while the
 * data keys are re-wrapped, an interrupted migration leaves everything readable and resumes, and
 * the keys are the same bytes afterwards.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseKmsConfig } from '../../../server/src/keys/kms-config.ts';
import { KeyManager } from '../../../server/src/keys/manager.ts';
import { InternalKms } from '../../../server/src/keys/providers/internal.ts';
import { wrappedKind } from '../../../server/src/keys/providers/wrap-format.ts';
import { KmsRegistry } from '../../../server/src/keys/registry.ts';
import { writeFileDurable } from '../../../server/src/keys/secret-file.ts';
import { makeTestPki } from '../../kms-servers/certs.ts';
import { startVaultTestServer, type VaultTestServer } from '../../kms-servers/vault.ts';

const EPOCHS = 4;

describe('KMS provider migration', () => {
  let dir: string;
  let vault: VaultTestServer;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kiseki-migrate-'));
    vault = await startVaultTestServer(makeTestPki(dir));
  });
  afterAll(async () => {
    await vault?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A tenant on the internal KMS with EPOCHS wrapped data keys, and a key manager that misses
   * its cache on every read (the clock jumps past the TTL each call). */
  async function setup(tenant: string) {
    const home = mkdtempSync(join(dir, 'home-'));
    const reg = new KmsRegistry({
      dir: join(home, 'keys'),
      internalDir: join(home, 'kms'),
      resilience: { attemptsMax: 1 },
    });
    let now = 0;
    const km = await KeyManager.open({
      dir: join(home, 'keys'),
      provider: (t) => reg.providerFor(t),
      cacheTtlMs: 1,
      clock: () => (now += 10),
    });
    await km.createTenant(tenant);
    const internal = new InternalKms(join(home, 'kms'));
    for (let e = 2; e <= EPOCHS; e++) {
      const dk = await internal.generateDataKey({ tenant, epoch: e, purpose: 'tenant-data-key' });
      await writeFileDurable(join(home, 'keys/tenants', tenant, `epoch-${e}.wrapped`), dk.wrapped);
    }
    const snapshot = async () =>
      (await km.tenantKeys(tenant)).epochs
        .map((x) => `${x.epoch}:${Buffer.from(x.tenantKey).toString('hex')}`)
        .sort();
    const kinds = () =>
      readdirSync(join(home, 'keys/tenants', tenant))
        .filter((f) => f.endsWith('.wrapped'))
        .map((f) => wrappedKind(readFileSync(join(home, 'keys/tenants', tenant, f))));
    return { home, reg, km, snapshot, kinds };
  }

  const vaultCfg = () =>
    parseKmsConfig({
      kind: 'vault',
      url: vault.url,
      caPem: vault.caPem,
      auth: { method: 'token', token: vault.kisekiToken },
    });

  it('internal → Vault: every epoch readable at every step (reads running throughout), same keys after', async () => {
    const { reg, km, snapshot, kinds } = await setup('mig-a');
    const before = await snapshot();
    expect(before).toHaveLength(EPOCHS);
    let reading = true;
    let reads = 0;
    const reader = (async () => {
      while (reading) {
        expect(await snapshot()).toEqual(before);
        reads++;
        await new Promise((r) => setImmediate(r));
      }
    })();
    const progress: string[] = [];
    const report = await reg.migrate('mig-a', vaultCfg(), {
      onProgress: (d, t) => progress.push(`${d}/${t}`),
    });
    reading = false;
    await reader;
    expect(report).toEqual({ tenant: 'mig-a', from: 'internal', to: 'vault', rewrapped: EPOCHS });
    expect(progress.at(-1)).toBe(`${EPOCHS}/${EPOCHS}`);
    expect(reads).toBeGreaterThan(0);
    expect(kinds().every((k) => k === 'vault')).toBe(true);
    expect(await snapshot()).toEqual(before);
    expect(reg.providerFor('mig-a').kind).toBe('vault');
    await expect(reg.migrate('mig-a', vaultCfg())).rejects.toMatchObject({ code: 'KISEKI_E_INVAL' });
    km.close();
    await reg.close();
  });

  it('an interrupted migration (Vault sealed half-way) leaves every epoch readable and resumes', async () => {
    const { reg, km, snapshot, kinds } = await setup('mig-b');
    const before = await snapshot();
    await expect(
      reg.migrate('mig-b', vaultCfg(), {
        onProgress: (done) => {
          if (done === 2) vault.faults.sealed = true;
        },
      }),
    ).rejects.toMatchObject({ code: 'KISEKI_E_UNAVAILABLE' });
    try {
      expect(new Set(kinds())).toEqual(new Set(['vault', 'internal']));
      // Old epochs open with the old KMS, moved ones need Vault: sealed, those fail clearly.
      await expect(snapshot()).rejects.toMatchObject({ code: 'KISEKI_E_UNAVAILABLE' });
    } finally {
      vault.faults.sealed = false;
    }
    expect(await snapshot()).toEqual(before);
    const internalOnly = parseKmsConfig({ kind: 'internal' });
    await expect(reg.migrate('mig-b', internalOnly)).rejects.toMatchObject({ code: 'KISEKI_E_BUSY' });
    const report = await reg.migrate('mig-b', vaultCfg());
    expect(report.rewrapped).toBe(EPOCHS - 2);
    expect(kinds().every((k) => k === 'vault')).toBe(true);
    expect(await snapshot()).toEqual(before);
    km.close();
    await reg.close();
  });
});
