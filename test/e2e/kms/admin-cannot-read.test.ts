/**
 * I-T4: a cluster admin with the system keys, every node config and every disk cannot read a
 * tenant's file contents or names once the tenant has withdrawn the cluster's access at its KMS
 * (here: revoked the Vault token). The test tries: it greps every file, runs the node's own key
 * manager on the home, and tries every 32-byte secret on the disks (plus another tenant's data
 * key, which an admin can unwrap for an internal-KMS tenant) as the tenant key against every
 * chunk envelope on the device — and checks the same attack succeeds with the real tenant key.
 */
import { execFile } from 'node:child_process';
import { hkdfSync, randomBytes } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Keyring } from '@kiseki/client';
import { CHUNK_MAGIC, chunkEnvelopeBytes } from '@kiseki/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openChunk } from '../../../client/src/crypto/seal.ts';
import { KeyManager } from '../../../server/src/keys/manager.ts';
import { InternalKms } from '../../../server/src/keys/providers/internal.ts';
import { VaultKms } from '../../../server/src/keys/providers/vault.ts';
import { KmsRegistry } from '../../../server/src/keys/registry.ts';
import { makeTestPki } from '../../kms-servers/certs.ts';
import { startVaultTestServer, type VaultTestServer } from '../../kms-servers/vault.ts';
import { CLI_BIN, cleanup, filesUnder, type ServerHandle, sdk, startServer, tempDir } from '../harness.ts';

const run = promisify(execFile);
const MIB = 1024 * 1024;

/** Every chunk envelope on a device image, found by its magic and checked header. */
function envelopesOn(device: Buffer): Buffer[] {
  const magic = Buffer.alloc(4);
  magic.writeUInt32LE(CHUNK_MAGIC);
  const out: Buffer[] = [];
  for (let at = device.indexOf(magic); at >= 0; at = device.indexOf(magic, at + 1)) {
    if (device[at + 4] !== 1 || device[at + 5] !== 1) continue;
    const len = device.readUInt32LE(at + 60);
    const bytes = chunkEnvelopeBytes(len);
    if (len > 16 * MIB || at + bytes > device.length) continue;
    out.push(device.subarray(at, at + bytes));
  }
  return out;
}

function tryOpen(tenantKey: Buffer, systemPart: Buffer, env: Buffer): boolean {
  const ring = new Keyring([{ epoch: 1, tenantKey, systemPart }], 1, 'tenant', 60_000);
  try {
    openChunk(ring, env.subarray(16, 48), env);
    return true;
  } catch {
    return false;
  } finally {
    ring.destroy();
  }
}

describe('I-T4: a cluster admin without the tenant KEK', () => {
  let dir: string;
  let vault: VaultTestServer;
  let server: ServerHandle;
  const name = `merger-plans-${randomBytes(6).toString('hex')}.txt`;
  const marker = `confidential-${randomBytes(8).toString('hex')}`;
  let tenantKey: Buffer;

  beforeAll(async () => {
    dir = tempDir('admin-pki');
    const pki = makeTestPki(dir);
    vault = await startVaultTestServer(pki);
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, vault.kisekiToken, { mode: 0o600 });
    server = await startServer({ home: tempDir('admin-home'), deviceSizeBytes: 256 * MIB });
    await run(
      CLI_BIN,
      [
        ...['--home', server.home, 'tenant', 'create', 'secretco', '--kms', 'vault', '--kms-url', vault.url],
        ...['--kms-token-file', tokenFile, '--kms-ca-file', pki.caCert],
      ],
      { timeout: 120_000 },
    );
    const k = await sdk(server, 'secretco');
    await k.fs.writeFile(`/${name}`, Buffer.from(`${marker}\n`.repeat(20_000)));
    await k.close();
    // What the tenant admin can do: read its own data key with its own Vault access.
    const tenantVault = new VaultKms({
      url: vault.url,
      caPem: vault.caPem,
      auth: { method: 'token', token: vault.rootToken },
    });
    tenantKey = Buffer.from(
      await tenantVault.unwrap(readFileSync(join(server.home, 'keys/tenants/secretco/epoch-1.wrapped')), {
        tenant: 'secretco',
        epoch: 1,
        purpose: 'tenant-data-key',
      }),
    );
    await tenantVault.close();
    // The tenant withdraws the cluster's access; the admin takes the node down and keeps its disks.
    vault.revokeToken(vault.kisekiToken);
    await server.stop();
  });
  afterAll(async () => {
    await server?.stop();
    await vault?.close();
    if (server) cleanup(server.home);
    if (dir) cleanup(dir);
  });

  it('I-T4: no file holds the name or contents; the node cannot unwrap; no key on the disks opens a chunk; the real key does', async () => {
    const home = server.home;
    for (const f of filesUnder(home)) {
      const b = readFileSync(f);
      expect(b.includes(marker), `${f} holds file contents`).toBe(false);
      expect(b.includes(name), `${f} holds the file name`).toBe(false);
    }
    // The node's own key manager, with every config and the system keys, on the same home.
    const reg = new KmsRegistry({
      dir: join(home, 'keys'),
      internalDir: join(home, 'kms'),
      resilience: { attemptsMax: 1 },
    });
    const km = await KeyManager.open({ dir: join(home, 'keys'), provider: (t) => reg.providerFor(t) });
    await expect(km.tenantKeys('secretco')).rejects.toMatchObject({ code: 'KISEKI_E_AUTH' });
    km.close();
    await reg.close();

    const systemKek = readFileSync(join(home, 'keys/system/epoch-1.key'));
    const systemPart = Buffer.from(
      hkdfSync('sha256', systemKek, Buffer.from('secretco'), 'kiseki/v1/system-part/1', 32),
    );
    const candidates = filesUnder(home)
      .filter((f) => statSync(f).size === 32)
      .map((f) => readFileSync(f));
    const other = new InternalKms(join(home, 'kms'));
    candidates.push(
      Buffer.from(
        await other.unwrap(readFileSync(join(home, 'keys/tenants/default/epoch-1.wrapped')), {
          tenant: 'default',
          epoch: 1,
          purpose: 'tenant-data-key',
        }),
      ),
    );
    expect(candidates.length).toBeGreaterThanOrEqual(3); // system KEK, internal KEKs, default tenant key
    const envelopes = envelopesOn(readFileSync(join(home, 'devices/dev0.img')));
    expect(envelopes.length).toBeGreaterThan(0);
    for (const env of envelopes) for (const c of candidates) expect(tryOpen(c, systemPart, env)).toBe(false);
    // The same attack with the tenant's key opens its chunks: the method is sound, the key is what's missing.
    expect(envelopes.some((env) => tryOpen(tenantKey, systemPart, env))).toBe(true);
  });
});
