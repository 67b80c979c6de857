/**
 * Which KMS provider serves each tenant. A tenant's provider config lives beside its wrapped
 * data keys as `<keys dir>/tenants/<tenant>/kms.json` (0600, written atomically); a tenant
 * without one uses the internal provider. The running server notices a new or changed config on
 * the next key lookup (the file's mtime), so `kiseki kms configure` needs no restart.
 *
 * `configure` proves a config before saving it: the KEK is created (or found) and a fresh data
 * key round-trips through it. Switching a tenant that already has wrapped keys to another kind
 * of provider is refused: that is provider migration, which re-wraps every epoch (issue 5, later
 * part).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { KisekiError } from '@kiseki/proto';
import { createKmsProvider, type KmsConfig, parseKmsConfig, redactKmsConfig } from './kms-config.ts';
import { assertTenantName, type KmsHealth, type KmsKind } from './providers/provider.ts';
import type { KmsLog, ResilienceOptions, ResilientProvider } from './providers/resilience.ts';
import { wrappedKind } from './providers/wrap-format.ts';
import { writeFileDurable } from './secret-file.ts';

export interface KmsRegistryOptions {
  /** The key manager's directory (holds tenants/<tenant>/). */
  readonly dir: string;
  /** Where the internal provider keeps KEK files. */
  readonly internalDir: string;
  readonly log?: KmsLog;
  readonly resilience?: ResilienceOptions;
}

export interface KmsTestReport {
  readonly tenant: string;
  readonly kind: KmsKind;
  readonly config: Record<string, unknown>;
  readonly health: KmsHealth;
  /** A fresh data key generated, then unwrapped again, under the tenant KEK. */
  readonly roundTripMs?: number;
  readonly error?: string;
}

/** Epoch 0 is never a real tenant data key: probes use it. */
const PROBE_EPOCH = 0;

export class KmsRegistry {
  readonly #o: KmsRegistryOptions;
  readonly #internal: ResilientProvider;
  readonly #byTenant = new Map<string, { mtimeMs: number; provider: ResilientProvider }>();

  constructor(o: KmsRegistryOptions) {
    this.#o = o;
    this.#internal = createKmsProvider(
      { kind: 'internal' },
      { internalDir: o.internalDir, log: o.log, resilience: o.resilience },
    );
  }

  configPath(tenant: string): string {
    assertTenantName(tenant);
    return join(this.#o.dir, 'tenants', tenant, 'kms.json');
  }

  /** The tenant's configured provider config, or undefined for the internal default. */
  readConfig(tenant: string): KmsConfig | undefined {
    const p = this.configPath(tenant);
    if (!existsSync(p)) return undefined;
    return parseKmsConfig(readFileSync(p, 'utf8'));
  }

  /** The provider for a tenant (cached; reloaded when its config file changes). */
  providerFor(tenant: string): ResilientProvider {
    const p = this.configPath(tenant);
    let mtimeMs: number;
    try {
      mtimeMs = statSync(p).mtimeMs;
    } catch {
      return this.#internal;
    }
    const hit = this.#byTenant.get(tenant);
    if (hit && hit.mtimeMs === mtimeMs) return hit.provider;
    let cfg: KmsConfig;
    try {
      cfg = parseKmsConfig(readFileSync(p, 'utf8'));
    } catch (err) {
      throw new KisekiError(
        'KISEKI_E_CORRUPT',
        `tenant ${tenant} KMS config ${p} is damaged: ${(err as Error).message}`,
      );
    }
    const provider = this.#create(cfg);
    this.#byTenant.set(tenant, { mtimeMs, provider });
    if (hit) void hit.provider.close().catch(() => {});
    return provider;
  }

  #create(cfg: KmsConfig): ResilientProvider {
    return createKmsProvider(cfg, {
      internalDir: this.#o.internalDir,
      log: this.#o.log,
      resilience: this.#o.resilience,
    });
  }

  /** The kind of provider that wrapped the tenant's existing data keys, if any. */
  existingKind(tenant: string): KmsKind | undefined {
    const dir = join(this.#o.dir, 'tenants', tenant);
    if (!existsSync(dir)) return undefined;
    for (const f of readdirSync(dir).filter((x) => /^epoch-\d+\.wrapped$/.test(x))) {
      const k = wrappedKind(readFileSync(join(dir, f)));
      if (k) return k;
    }
    return undefined;
  }

  /** Proves `cfg` works for `tenant` (KEK exists or is made, a data key round-trips), then
   * saves it. Nothing is saved when any step fails. */
  async configure(tenant: string, cfg: KmsConfig, opts?: { signal?: AbortSignal }): Promise<KmsTestReport> {
    assertTenantName(tenant);
    const existing = this.existingKind(tenant);
    if (existing && existing !== cfg.kind) {
      throw new KisekiError(
        'KISEKI_E_EXIST',
        `tenant ${tenant} already has data keys wrapped by the ${existing} provider; moving it to ${cfg.kind} is provider migration, which is not supported yet`,
      );
    }
    const provider = this.#create(cfg);
    try {
      await provider.ensureKek(tenant, opts).catch((err: unknown) => {
        if (!(err instanceof KisekiError)) throw err;
        throw new KisekiError(err.code, `KMS for tenant ${tenant} does not work: ${err.message}`);
      });
      const report = await this.#probe(tenant, cfg, provider, opts);
      if (report.error)
        throw new KisekiError(
          'KISEKI_E_UNAVAILABLE',
          `KMS for tenant ${tenant} does not work: ${report.error}`,
        );
      await mkdir(dirname(this.configPath(tenant)), { recursive: true, mode: 0o700 });
      await writeFileDurable(this.configPath(tenant), Buffer.from(`${JSON.stringify(cfg, null, 2)}\n`));
      return report;
    } finally {
      await provider.close();
    }
  }

  /** Health and a data-key round trip with the tenant's saved config. */
  async test(tenant: string, opts?: { signal?: AbortSignal }): Promise<KmsTestReport> {
    const cfg = this.readConfig(tenant) ?? ({ kind: 'internal' } as const);
    const provider = cfg.kind === 'internal' ? this.#internal : this.#create(cfg);
    try {
      return await this.#probe(tenant, cfg, provider, opts);
    } finally {
      if (provider !== this.#internal) await provider.close();
    }
  }

  async #probe(
    tenant: string,
    cfg: KmsConfig,
    p: ResilientProvider,
    opts?: { signal?: AbortSignal },
  ): Promise<KmsTestReport> {
    const base = { tenant, kind: cfg.kind, config: redactKmsConfig(cfg) };
    const health = await p.health({ tenant, signal: opts?.signal });
    if (!health.ok) return { ...base, health, error: health.detail };
    const t0 = performance.now();
    try {
      const ctx = { tenant, epoch: PROBE_EPOCH, purpose: 'tenant-data-key' } as const;
      const dk = await p.generateDataKey(ctx, opts);
      const back = Buffer.from(await p.unwrap(dk.wrapped, ctx, opts));
      const same = back.equals(dk.plaintext);
      back.fill(0);
      dk.plaintext.fill(0);
      if (!same) return { ...base, health, error: 'a data key did not round-trip' };
      return { ...base, health, roundTripMs: performance.now() - t0 };
    } catch (err) {
      return { ...base, health, error: (err as Error).message };
    }
  }

  async close(): Promise<void> {
    for (const { provider } of this.#byTenant.values()) await provider.close().catch(() => {});
    this.#byTenant.clear();
    await this.#internal.close();
  }
}
