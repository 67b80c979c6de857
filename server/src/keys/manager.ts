/**
 * The key manager: custody of the system KEK per epoch and of each tenant's data keys, which
 * are stored only wrapped by the tenant KEK in the tenant's KMS provider. Unwrapped tenant keys
 * are cached for at most `cache_ttl_ms`, which bounds how long a shredded tenant stays readable
 * (I-K5). Nothing here logs or returns key bytes except `tenantKeys` to an authenticated
 * session of that tenant over TLS (I-T3, I-K8).
 */
import { hkdfSync, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KisekiError } from '@kiseki/proto';
import { appendAudit, audited } from './audit.ts';
import { addEpoch, type EpochInfo, isShredded, listEpochs, shreddedError, shredTenant } from './epochs.ts';
import type { TenantKmsProvider } from './providers/provider.ts';
import { writeFileDurable } from './secret-file.ts';

export const TENANT_KEY_CACHE_TTL_MS_DEFAULT = 60_000;
/** The actor named in audit records of operations the server does itself. */
const SERVER_ACTOR = 'kiseki-server';

export interface EpochKeyMaterial {
  readonly epoch: number;
  readonly tenantKey: Buffer;
  readonly systemPart: Buffer;
}

export interface TenantKeySet {
  readonly currentEpoch: number;
  readonly epochs: readonly EpochKeyMaterial[];
  readonly cacheTtlMs: number;
}

export interface KeyManagerOptions {
  readonly dir: string;
  readonly provider: (tenant: string) => TenantKmsProvider;
  readonly cacheTtlMs?: number;
  readonly clock?: () => number;
}

export class KeyManager {
  readonly #systemKeks = new Map<number, Buffer>();
  readonly #cache = new Map<string, { set: TenantKeySet; expiresAtMs: number }>();
  readonly #loading = new Map<string, Promise<TenantKeySet>>();
  readonly cacheTtlMs: number;
  readonly #clock: () => number;

  private constructor(private readonly opts: KeyManagerOptions) {
    this.cacheTtlMs = opts.cacheTtlMs ?? TENANT_KEY_CACHE_TTL_MS_DEFAULT;
    this.#clock = opts.clock ?? Date.now;
  }

  static async open(opts: KeyManagerOptions): Promise<KeyManager> {
    const km = new KeyManager(opts);
    await mkdir(join(opts.dir, 'system'), { recursive: true, mode: 0o700 });
    await mkdir(join(opts.dir, 'tenants'), { recursive: true, mode: 0o700 });
    const files = (await readdir(join(opts.dir, 'system'))).filter((f) => /^epoch-\d+\.key$/.test(f));
    for (const f of files) {
      const epoch = Number(/\d+/.exec(f)![0]);
      const k = await readFile(join(opts.dir, 'system', f));
      if (k.length !== 32) throw new KisekiError('KISEKI_E_CORRUPT', `system key file ${f} is damaged`);
      km.#systemKeks.set(epoch, k);
    }
    if (km.#systemKeks.size === 0) {
      const k = randomBytes(32);
      await writeFileDurable(join(opts.dir, 'system', 'epoch-1.key'), k);
      km.#systemKeks.set(1, k);
    }
    return km;
  }

  get systemEpoch(): number {
    return Math.max(...this.#systemKeks.keys());
  }

  #tenantDir(tenant: string): string {
    return join(this.opts.dir, 'tenants', tenant);
  }

  /** The kind of KMS provider that serves the tenant (for listings; never a credential). */
  providerKind(tenant: string): string {
    return this.opts.provider(tenant).kind;
  }

  /** Creates the tenant KEK in its provider and the first wrapped tenant data key. */
  async createTenant(tenant: string): Promise<void> {
    // A tenant that has its first data key needs nothing from its KMS here: a node starts even
    // while a tenant's KMS is down (that tenant's reads then fail with KISEKI_E_UNAVAILABLE).
    const path = join(this.#tenantDir(tenant), 'epoch-1.wrapped');
    if (existsSync(path)) return;
    if (isShredded(this.opts.dir, tenant)) throw shreddedError(tenant);
    const provider = this.opts.provider(tenant);
    await provider.ensureKek(tenant);
    await mkdir(this.#tenantDir(tenant), { recursive: true, mode: 0o700 });
    // The wrapped key is written only after the KMS returned it: an unavailable KMS leaves no file.
    await audited(
      this.opts.dir,
      tenant,
      { op: 'key.create', actor: SERVER_ACTOR, kms: provider.kind, epoch: 1 },
      async () => {
        const { plaintext, wrapped } = await provider.generateDataKey({
          tenant,
          epoch: 1,
          purpose: 'tenant-data-key',
        });
        plaintext.fill(0);
        await writeFileDurable(path, wrapped);
      },
    );
  }

  /** Rotation (I-K6): a new newest epoch for new writes; older epochs stay readable. Drops this
   * node's cached keys so its next lookup serves the new epoch. */
  async rotate(tenant: string): Promise<number> {
    const provider = this.opts.provider(tenant);
    const epoch = await audited(
      this.opts.dir,
      tenant,
      { op: 'key.rotate', actor: SERVER_ACTOR, kms: provider.kind },
      () => addEpoch(this.opts.dir, tenant, provider),
      (e) => e,
    );
    this.#evict(tenant);
    return epoch;
  }

  /** Crypto-shred (I-K5): marks the tenant shredded, drops this node's cached keys, destroys
   * the KEK in the tenant's KMS. Other nodes and clients stop within their key cache TTL. */
  async shred(tenant: string): Promise<void> {
    const provider = this.opts.provider(tenant);
    this.#evict(tenant);
    await audited(
      this.opts.dir,
      tenant,
      { op: 'tenant.shred', actor: SERVER_ACTOR, kms: provider.kind },
      () => shredTenant(this.opts.dir, tenant, provider),
    );
  }

  /** The tenant's epochs and which provider wrapped each; no KMS call, no key material. */
  status(tenant: string): { currentEpoch: number; epochs: EpochInfo[]; provider: string } {
    const epochs = listEpochs(this.opts.dir, tenant);
    if (epochs.length === 0) throw new KisekiError('KISEKI_E_NOENT', `tenant ${tenant} has no keys`);
    return { currentEpoch: epochs.at(-1)!.epoch, epochs, provider: this.providerKind(tenant) };
  }

  /** The tenant's unwrapped key material (cached up to the TTL). */
  async tenantKeys(tenant: string): Promise<TenantKeySet> {
    const now = this.#clock();
    const hit = this.#cache.get(tenant);
    if (hit && hit.expiresAtMs > now) return hit.set;
    // One load per tenant at a time: when a cache entry expires under many sessions, the KMS
    // sees one unwrap per epoch, not one per session.
    const pending = this.#loading.get(tenant);
    if (pending) return pending;
    const load = this.#load(tenant, now).finally(() => this.#loading.delete(tenant));
    this.#loading.set(tenant, load);
    return load;
  }

  async #load(tenant: string, now: number): Promise<TenantKeySet> {
    if (this.#cache.has(tenant)) this.#evict(tenant);
    if (isShredded(this.opts.dir, tenant)) throw shreddedError(tenant);
    const provider = this.opts.provider(tenant);
    let files: string[];
    try {
      files = (await readdir(this.#tenantDir(tenant))).filter((f) => /^epoch-\d+\.wrapped$/.test(f));
    } catch {
      throw new KisekiError('KISEKI_E_NOENT', `tenant ${tenant} has no keys`);
    }
    const epochs: EpochKeyMaterial[] = [];
    try {
      for (const f of files) {
        const epoch = Number(/\d+/.exec(f)![0]);
        const wrapped = await readFile(join(this.#tenantDir(tenant), f));
        const tenantKey = Buffer.from(
          await provider.unwrap(wrapped, { tenant, epoch, purpose: 'tenant-data-key' }),
        );
        epochs.push({ epoch, tenantKey, systemPart: this.#systemPart(tenant, epoch) });
      }
    } catch (err) {
      for (const e of epochs) {
        e.tenantKey.fill(0);
        e.systemPart.fill(0);
      }
      // A refusal (wrong blob, credentials) is evidence; an outage or a shred is not news.
      const code = (err as { code?: unknown }).code;
      if (code === 'KISEKI_E_CRYPTO' || code === 'KISEKI_E_AUTH' || code === 'KISEKI_E_CORRUPT') {
        await appendAudit(this.opts.dir, tenant, {
          op: 'key.unwrap',
          actor: SERVER_ACTOR,
          kms: provider.kind,
          outcome: 'failed',
          code,
        });
      }
      throw err;
    }
    if (epochs.length === 0) throw new KisekiError('KISEKI_E_NOENT', `tenant ${tenant} has no keys`);
    await appendAudit(this.opts.dir, tenant, {
      op: 'key.unwrap',
      actor: SERVER_ACTOR,
      kms: provider.kind,
      epoch: Math.max(...epochs.map((e) => e.epoch)),
      outcome: 'ok',
    });
    const set: TenantKeySet = {
      currentEpoch: Math.max(...epochs.map((e) => e.epoch)),
      epochs,
      cacheTtlMs: this.cacheTtlMs,
    };
    if (isShredded(this.opts.dir, tenant)) {
      // Shredded while this load was at the KMS: serve nothing, keep nothing.
      for (const e of epochs) {
        e.tenantKey.fill(0);
        e.systemPart.fill(0);
      }
      throw shreddedError(tenant);
    }
    this.#cache.set(tenant, { set, expiresAtMs: now + this.cacheTtlMs });
    return set;
  }

  /** The system share of a tenant's chunk DEKs for one epoch: tenant-specific, so one tenant's
   * share says nothing about another's. */
  #systemPart(tenant: string, epoch: number): Buffer {
    const kek =
      this.#systemKeks.get(Math.min(epoch, this.systemEpoch)) ?? this.#systemKeks.get(this.systemEpoch)!;
    return Buffer.from(hkdfSync('sha256', kek, Buffer.from(tenant), `kiseki/v1/system-part/${epoch}`, 32));
  }

  #evict(tenant: string): void {
    const hit = this.#cache.get(tenant);
    if (!hit) return;
    for (const e of hit.set.epochs) {
      e.tenantKey.fill(0);
      e.systemPart.fill(0);
    }
    this.#cache.delete(tenant);
  }

  close(): void {
    for (const t of [...this.#cache.keys()]) this.#evict(t);
    for (const k of this.#systemKeks.values()) k.fill(0);
  }
}
