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
import { mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { KisekiError } from '@kiseki/proto';
import { audited } from './audit.ts';
import { createKmsProvider, type KmsConfig, parseKmsConfig, redactKmsConfig } from './kms-config.ts';
import { migratingProvider } from './providers/migrating.ts';
import {
  assertTenantName,
  type KmsHealth,
  type KmsKind,
  type TenantKmsProvider,
} from './providers/provider.ts';
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

export interface KmsMigrateReport {
  readonly tenant: string;
  readonly from: KmsKind;
  readonly to: KmsKind;
  /** Epochs whose wrapped data key was moved to the new KMS. */
  readonly rewrapped: number;
}

/** Re-listing passes before a migration gives up on a tenant that keeps getting new keys. */
const MIGRATE_PASSES_MAX = 5;

/** Epoch 0 is never a real tenant data key: probes use it. */
const PROBE_EPOCH = 0;

export class KmsRegistry {
  readonly #o: KmsRegistryOptions;
  readonly #internal: ResilientProvider;
  readonly #byTenant = new Map<string, { stamp: string; provider: TenantKmsProvider }>();

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

  /** The config a migration is moving the tenant away from; present only during one. */
  previousConfigPath(tenant: string): string {
    return join(dirname(this.configPath(tenant)), 'kms.previous.json');
  }

  #parse(tenant: string, path: string): KmsConfig {
    try {
      return parseKmsConfig(readFileSync(path, 'utf8'));
    } catch (err) {
      throw new KisekiError(
        'KISEKI_E_CORRUPT',
        `tenant ${tenant} KMS config ${path} is damaged: ${(err as Error).message}`,
      );
    }
  }

  /** The provider for a tenant (cached; reloaded when its config files change). During a
   * migration it is the new provider for wraps and whichever made a blob for unwraps. */
  providerFor(tenant: string): TenantKmsProvider {
    const p = this.configPath(tenant);
    const prev = this.previousConfigPath(tenant);
    const mtime = (f: string) => {
      try {
        return statSync(f).mtimeMs;
      } catch {
        return undefined;
      }
    };
    const m = mtime(p);
    if (m === undefined) return this.#internal;
    const pm = mtime(prev);
    const stamp = `${m}/${pm ?? '-'}`;
    const hit = this.#byTenant.get(tenant);
    if (hit && hit.stamp === stamp) return hit.provider;
    const next = this.#create(this.#parse(tenant, p));
    const provider =
      pm === undefined ? next : migratingProvider(next, this.#create(this.#parse(tenant, prev)));
    this.#byTenant.set(tenant, { stamp, provider });
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
  async configure(
    tenant: string,
    cfg: KmsConfig,
    opts?: { signal?: AbortSignal; actor?: string },
  ): Promise<KmsTestReport> {
    return audited(
      this.#o.dir,
      tenant,
      { op: 'kms.configure', actor: opts?.actor ?? 'kiseki-server', kms: cfg.kind },
      () => this.#configure(tenant, cfg, opts),
    );
  }

  async #configure(tenant: string, cfg: KmsConfig, opts?: { signal?: AbortSignal }): Promise<KmsTestReport> {
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

  /**
   * Moves a tenant to another KMS without downtime. Order, so that every epoch stays readable
   * at every step (and a crash anywhere can be resumed by running it again):
   *  1. prove the target (KEK made or found, a data key round-trips);
   *  2. save the old config as kms.previous.json, then the target as kms.json — from here on
   *     the server wraps with the target and unwraps each blob with the provider that made it;
   *  3. re-wrap every epoch: unwrap with the old KMS, wrap with the target under the same
   *     context, check the new blob opens to the same key, replace the file atomically;
   *  4. once a re-listing finds only target blobs, delete kms.previous.json.
   * The old KEK is left in the old KMS: destroying it is a separate, deliberate act.
   */
  async migrate(
    tenant: string,
    cfg: KmsConfig,
    opts: { signal?: AbortSignal; actor?: string; onProgress?: (done: number, total: number) => void } = {},
  ): Promise<KmsMigrateReport> {
    return audited(
      this.#o.dir,
      tenant,
      { op: 'kms.migrate', actor: opts.actor ?? 'kiseki-server', kms: cfg.kind },
      () => this.#migrate(tenant, cfg, opts),
    );
  }

  async #migrate(
    tenant: string,
    cfg: KmsConfig,
    opts: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void },
  ): Promise<KmsMigrateReport> {
    assertTenantName(tenant);
    const prevPath = this.previousConfigPath(tenant);
    const current = this.readConfig(tenant) ?? ({ kind: 'internal' } as const);
    let from: KmsConfig;
    if (existsSync(prevPath)) {
      from = this.#parse(tenant, prevPath);
      if (current.kind !== cfg.kind) {
        throw new KisekiError(
          'KISEKI_E_BUSY',
          `tenant ${tenant} is being migrated from ${from.kind} to ${current.kind}: finish that first (run it again with the same target)`,
        );
      }
    } else {
      if (current.kind === cfg.kind) {
        throw new KisekiError(
          'KISEKI_E_INVAL',
          `tenant ${tenant} is already on ${cfg.kind}; use configure to change its settings`,
        );
      }
      from = current;
    }
    const target = this.#create(cfg);
    const source = this.#create(from);
    try {
      await target.ensureKek(tenant, opts);
      const probe = await this.#probe(tenant, cfg, target, opts);
      if (probe.error)
        throw new KisekiError(
          'KISEKI_E_UNAVAILABLE',
          `KMS for tenant ${tenant} does not work: ${probe.error}`,
        );
      const dir = dirname(this.configPath(tenant));
      await mkdir(dir, { recursive: true, mode: 0o700 });
      if (!existsSync(prevPath))
        await writeFileDurable(prevPath, Buffer.from(`${JSON.stringify(from, null, 2)}\n`));
      await writeFileDurable(this.configPath(tenant), Buffer.from(`${JSON.stringify(cfg, null, 2)}\n`));
      let rewrapped = 0;
      let total = 0;
      // A data key created by a wrap that began before the switch can land after a listing:
      // list again until a pass finds nothing left to move.
      for (let pass = 0; ; pass++) {
        const todo = readdirSync(dir)
          .filter((f) => /^epoch-\d+\.wrapped$/.test(f))
          .filter((f) => wrappedKind(readFileSync(join(dir, f))) !== cfg.kind);
        if (todo.length === 0) break;
        if (pass >= MIGRATE_PASSES_MAX) {
          throw new KisekiError(
            'KISEKI_E_BUSY',
            `tenant ${tenant} keeps getting new ${from.kind} keys; run the migration again`,
          );
        }
        total += todo.length;
        for (const f of todo) {
          const ctx = { tenant, epoch: Number(/\d+/.exec(f)![0]), purpose: 'tenant-data-key' } as const;
          const key = Buffer.from(await source.unwrap(readFileSync(join(dir, f)), ctx, opts));
          try {
            const w = await target.wrap(key, ctx, opts);
            const back = Buffer.from(await target.unwrap(w, ctx, opts));
            const same = back.equals(key);
            back.fill(0);
            if (!same)
              throw new KisekiError(
                'KISEKI_E_CRYPTO',
                `re-wrapped key of epoch ${ctx.epoch} does not open to itself`,
              );
            await writeFileDurable(join(dir, f), w);
          } finally {
            key.fill(0);
          }
          rewrapped++;
          opts.onProgress?.(rewrapped, total);
        }
      }
      await rm(prevPath, { force: true });
      return { tenant, from: from.kind, to: cfg.kind, rewrapped };
    } finally {
      await target.close();
      await source.close();
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
