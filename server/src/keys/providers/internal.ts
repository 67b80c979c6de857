/**
 * The internal tenant KMS (the default): one 256-bit KEK per tenant in its own 0600 file under
 * the node's key directory, wrapping with AES-256-GCM. Suited to a single node and to tests;
 * production tenants bring Vault, KMIP, AWS KMS or PKCS#11. Unlike the external providers the
 * KEK is in this process's memory during a wrap or unwrap (and zeroed after).
 *
 * Wrapped format: internal v1 (wrap-format.ts).
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { KisekiError } from '@kiseki/proto';
import { writeFileDurable } from '../secret-file.ts';
import {
  assertTenantName,
  contextAad,
  type DataKey,
  generateThenWrap,
  healthReport,
  type KmsHealth,
  type TenantKmsProvider,
  type WrapContext,
} from './provider.ts';
import { decodeInternalWrapped, encodeInternalWrapped } from './wrap-format.ts';

export class InternalKms implements TenantKmsProvider {
  readonly kind = 'internal' as const;
  constructor(private readonly dir: string) {}

  #path(tenant: string): string {
    assertTenantName(tenant);
    return join(this.dir, `${tenant}.kek`);
  }

  async ensureKek(tenant: string): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    if (existsSync(this.#path(tenant))) return;
    await writeFileDurable(this.#path(tenant), randomBytes(32));
  }

  async #kek(tenant: string): Promise<Buffer> {
    try {
      const k = await readFile(this.#path(tenant));
      if (k.length !== 32) throw new KisekiError('KISEKI_E_CORRUPT', `tenant ${tenant} KEK file is damaged`);
      return k;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new KisekiError(
          'KISEKI_E_SHREDDED',
          `tenant ${tenant} has no KEK: it was shredded or never created`,
        );
      }
      throw err;
    }
  }

  async wrap(key: Uint8Array, ctx: WrapContext): Promise<Uint8Array> {
    if (key.length !== 32) throw new KisekiError('KISEKI_E_INVAL', 'only 256-bit keys are wrapped');
    const kek = await this.#kek(ctx.tenant);
    const nonce = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', kek, nonce);
    c.setAAD(contextAad(ctx));
    const ciphertext = Buffer.concat([c.update(key), c.final()]);
    kek.fill(0);
    return encodeInternalWrapped({ iv: nonce, ciphertext, tag: c.getAuthTag() });
  }

  async unwrap(wrapped: Uint8Array, ctx: WrapContext): Promise<Uint8Array> {
    const w = decodeInternalWrapped(wrapped);
    const kek = await this.#kek(ctx.tenant);
    try {
      const d = createDecipheriv('aes-256-gcm', kek, w.iv);
      d.setAAD(contextAad(ctx));
      d.setAuthTag(w.tag);
      return Buffer.concat([d.update(w.ciphertext), d.final()]);
    } catch {
      throw new KisekiError(
        'KISEKI_E_CRYPTO',
        `wrapped key does not open for tenant ${ctx.tenant} epoch ${ctx.epoch}`,
      );
    } finally {
      kek.fill(0);
    }
  }

  generateDataKey(ctx: WrapContext): Promise<DataKey> {
    return generateThenWrap(this, ctx);
  }

  async health(opts?: { tenant?: string }): Promise<KmsHealth> {
    const done = healthReport(this.kind);
    if (opts?.tenant === undefined) return done(true, `key directory ${this.dir}`);
    try {
      (await this.#kek(opts.tenant)).fill(0);
      return done(true, `tenant ${opts.tenant} KEK present`);
    } catch (err) {
      return done(false, (err as Error).message);
    }
  }

  async destroyKek(tenant: string): Promise<void> {
    await rm(this.#path(tenant), { force: true });
  }

  async close(): Promise<void> {}
}
