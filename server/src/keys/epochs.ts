/**
 * Tenant data-key epochs on disk: `<keys dir>/tenants/<tenant>/epoch-<n>.wrapped`, each the data
 * key of one epoch wrapped by the tenant KEK. Rotation (I-K6) adds epoch n+1; new writes use the
 * newest epoch once key caches refresh (server and client `cacheTtlMs`), and every older epoch
 * stays readable — nothing here removes one (a cutover needs old data re-encrypted first).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { KisekiError } from '@kiseki/proto';
import { assertTenantName, type KmsKind, type TenantKmsProvider } from './providers/provider.ts';
import { wrappedKind } from './providers/wrap-format.ts';
import { writeFileDurable } from './secret-file.ts';

const EPOCH_FILE_RE = /^epoch-(\d+)\.wrapped$/;

export interface EpochInfo {
  readonly epoch: number;
  /** The provider that wrapped it (from the blob header), or undefined if unreadable. */
  readonly wrappedBy: KmsKind | undefined;
}

export function tenantKeyDir(keysDir: string, tenant: string): string {
  assertTenantName(tenant);
  return join(keysDir, 'tenants', tenant);
}

/** The tenant's epochs, oldest first. */
export function listEpochs(keysDir: string, tenant: string): EpochInfo[] {
  const dir = tenantKeyDir(keysDir, tenant);
  let files: string[];
  try {
    files = readdirSync(dir);
  } catch {
    return [];
  }
  return files
    .flatMap((f) => {
      const m = EPOCH_FILE_RE.exec(f);
      return m ? [{ epoch: Number(m[1]), wrappedBy: wrappedKind(readFileSync(join(dir, f))) }] : [];
    })
    .sort((a, b) => a.epoch - b.epoch);
}

/**
 * Rotation: makes epoch (newest + 1) with a fresh data key from the tenant's KMS. The file is
 * written only after the KMS answered, and never over an existing epoch: a rotation racing
 * another gets KISEKI_E_BUSY, one racing a shred gets KISEKI_E_SHREDDED, and either way no
 * epoch is half-made or lost.
 */
export async function addEpoch(
  keysDir: string,
  tenant: string,
  provider: TenantKmsProvider,
): Promise<number> {
  if (isShredded(keysDir, tenant)) throw shreddedError(tenant);
  const existing = listEpochs(keysDir, tenant);
  if (existing.length === 0) throw new KisekiError('KISEKI_E_NOENT', `tenant ${tenant} has no keys`);
  const epoch = existing.at(-1)!.epoch + 1;
  const { plaintext, wrapped } = await provider.generateDataKey({
    tenant,
    epoch,
    purpose: 'tenant-data-key',
  });
  plaintext.fill(0);
  const dir = tenantKeyDir(keysDir, tenant);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  try {
    await writeFileDurable(join(dir, `epoch-${epoch}.wrapped`), wrapped, { exclusive: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new KisekiError(
        'KISEKI_E_BUSY',
        `another rotation of tenant ${tenant} made epoch ${epoch} first; run it again`,
      );
    }
    throw err;
  }
  return epoch;
}

const SHREDDED_MARKER = 'shredded';

/** Whether the tenant was crypto-shredded on this node (the marker outlives any KMS answer). */
export function isShredded(keysDir: string, tenant: string): boolean {
  return existsSync(join(tenantKeyDir(keysDir, tenant), SHREDDED_MARKER));
}

/**
 * Crypto-shred (I-K5): first a durable marker, so this node refuses the tenant's keys from its
 * next cache miss on even if the KMS still answers (an AWS key pending deletion, a KMS that is
 * down right now); then the tenant KEK is destroyed in its KMS (both KMSes during a migration).
 * Idempotent: run it again if the KMS was unreachable. Wrapped keys and ciphertext are left in
 * place (a retention hold keeps ciphertext, never readability).
 */
export async function shredTenant(
  keysDir: string,
  tenant: string,
  provider: TenantKmsProvider,
): Promise<void> {
  const dir = tenantKeyDir(keysDir, tenant);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  if (!isShredded(keysDir, tenant)) {
    await writeFileDurable(join(dir, SHREDDED_MARKER), Buffer.from(`${new Date().toISOString()}\n`));
  }
  await provider.destroyKek(tenant);
}

export function shreddedError(tenant: string): KisekiError {
  return new KisekiError(
    'KISEKI_E_SHREDDED',
    `tenant ${tenant} was crypto-shredded: its data can no longer be read`,
  );
}
