/**
 * The Vault transit provider against the Vault test server (test/kms-servers/vault.ts), over
 * HTTPS. With KISEKI_TEST_VAULT_ADDR, KISEKI_TEST_VAULT_TOKEN (and KISEKI_TEST_VAULT_CACERT, a
 * PEM file) set, the contract runs against that real Vault instead (transit mounted at
 * 'transit'); the fault tests need the test server.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resilient } from '../../../server/src/keys/providers/resilience.ts';
import { VaultKms } from '../../../server/src/keys/providers/vault.ts';
import { makeTestPki, type TestPki } from '../../kms-servers/certs.ts';
import { startVaultTestServer, type VaultTestServer } from '../../kms-servers/vault.ts';
import { providerContract } from './contract.ts';

const REAL = process.env.KISEKI_TEST_VAULT_ADDR;
const ctx = { tenant: 'v-a', epoch: 1, purpose: 'tenant-data-key' } as const;

describe('Vault transit provider', () => {
  let dir: string;
  let pki: TestPki;
  let vault: VaultTestServer | undefined;
  let tokenKms: VaultKms;
  let appRoleKms: VaultKms;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kiseki-vault-'));
    pki = makeTestPki(dir);
    if (REAL) {
      const caPem = process.env.KISEKI_TEST_VAULT_CACERT
        ? readFileSync(process.env.KISEKI_TEST_VAULT_CACERT, 'utf8')
        : undefined;
      tokenKms = new VaultKms({
        url: REAL,
        caPem,
        auth: { method: 'token', token: process.env.KISEKI_TEST_VAULT_TOKEN ?? '' },
      });
      appRoleKms = tokenKms;
      return;
    }
    vault = await startVaultTestServer(pki);
    tokenKms = new VaultKms({
      url: vault.url,
      caPem: vault.caPem,
      auth: { method: 'token', token: vault.kisekiToken },
    });
    appRoleKms = new VaultKms({
      url: vault.url,
      caPem: vault.caPem,
      auth: { method: 'approle', roleId: vault.roleId, secretId: vault.secretId },
    });
  });
  afterAll(async () => {
    await tokenKms?.close();
    if (appRoleKms !== tokenKms) await appRoleKms?.close();
    await vault?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('token auth', () => providerContract(() => tokenKms, 'vt'));
  describe.skipIf(REAL)('AppRole auth', () => providerContract(() => appRoleKms, 'va'));

  describe.skipIf(REAL)('against the test server', () => {
    it('every transit call carried a valid X-Vault-Token', () => {
      const transit = vault!.requests.filter((r) => r.path.startsWith('transit/'));
      expect(transit.length).toBeGreaterThan(50);
      expect(transit.every((r) => r.token === 'valid')).toBe(true);
    });

    it('a wrong token or AppRole secret is KISEKI_E_AUTH', async () => {
      const bad = new VaultKms({
        url: vault!.url,
        caPem: vault!.caPem,
        auth: { method: 'token', token: 'hvs.wrong' },
      });
      await expect(bad.wrap(Buffer.alloc(32), ctx)).rejects.toMatchObject({ code: 'KISEKI_E_AUTH' });
      await bad.close();
      const badRole = new VaultKms({
        url: vault!.url,
        caPem: vault!.caPem,
        auth: { method: 'approle', roleId: vault!.roleId, secretId: 'nope' },
      });
      await expect(badRole.ensureKek('v-a')).rejects.toMatchObject({ code: 'KISEKI_E_AUTH' });
      await badRole.close();
    });

    it('an AppRole token revoked by Vault is replaced by a fresh login', async () => {
      await appRoleKms.ensureKek('v-a');
      const w = await appRoleKms.wrap(Buffer.alloc(32, 4), ctx);
      vault!.revokeAppRoleTokens();
      expect(Buffer.from(await appRoleKms.unwrap(w, ctx))).toEqual(Buffer.alloc(32, 4));
      expect(vault!.requests.filter((r) => r.path === 'auth/approle/login').length).toBeGreaterThanOrEqual(2);
    });

    it('refuses a Vault it cannot verify, and plain http', async () => {
      const untrusted = new VaultKms({
        url: vault!.url,
        auth: { method: 'token', token: vault!.kisekiToken },
      });
      await expect(untrusted.wrap(Buffer.alloc(32), ctx)).rejects.toMatchObject({
        code: 'KISEKI_E_UNAVAILABLE',
      });
      await untrusted.close();
      expect(
        () => new VaultKms({ url: 'http://127.0.0.1:1', auth: { method: 'token', token: 'x' } }),
      ).toThrow(/https/);
    });

    it('sealed Vault: clear KISEKI_E_UNAVAILABLE, the breaker opens, health says sealed, nothing changes', async () => {
      await tokenKms.ensureKek('v-a');
      const w = await tokenKms.wrap(Buffer.alloc(32, 8), ctx);
      const r = resilient(tokenKms, {
        attemptsMax: 2,
        backoffBaseMs: 5,
        breakerFailuresMax: 2,
        breakerOpenMs: 60_000,
      });
      vault!.faults.sealed = true;
      try {
        await expect(r.unwrap(w, ctx)).rejects.toMatchObject({
          code: 'KISEKI_E_UNAVAILABLE',
          message: /HTTP 503/,
        });
        expect(r.breaker.state).toBe('open');
        const before = vault!.requests.length;
        await expect(r.unwrap(w, ctx)).rejects.toThrow(/circuit open/);
        expect(vault!.requests.length).toBe(before);
        expect(await tokenKms.health()).toMatchObject({ ok: false, detail: /sealed/ });
      } finally {
        vault!.faults.sealed = false;
      }
      expect(Buffer.from(await tokenKms.unwrap(w, ctx))).toEqual(Buffer.alloc(32, 8));
    });

    it('a Vault that does not answer gives KISEKI_E_TIMEOUT within the bound', async () => {
      const r = resilient(tokenKms, { attemptsMax: 2, timeoutMs: 150, backoffBaseMs: 5 });
      vault!.faults.hangMs = 1_000;
      const t0 = Date.now();
      try {
        await expect(r.wrap(Buffer.alloc(32), ctx)).rejects.toMatchObject({ code: 'KISEKI_E_TIMEOUT' });
      } finally {
        vault!.faults.hangMs = 0;
      }
      expect(Date.now() - t0).toBeLessThan(900);
    });

    it('a Vault that is down gives KISEKI_E_UNAVAILABLE at once', async () => {
      const gone = new VaultKms({
        url: 'https://127.0.0.1:9',
        caPem: pki.caPem,
        auth: { method: 'token', token: 'x' },
      });
      await expect(resilient(gone, { backoffBaseMs: 1 }).wrap(Buffer.alloc(32), ctx)).rejects.toMatchObject({
        code: 'KISEKI_E_UNAVAILABLE',
        message: /unreachable \(ECONNREFUSED\)/,
      });
      await gone.close();
    });
  });
});
