/**
 * The one interface every tenant KMS provider implements (I-K16): callers see opaque wrapped
 * blobs and never learn where the tenant KEK lives or how it is used. Every wrap and unwrap
 * binds its context as AAD (I-K17), so a wrapped key moved to another tenant, epoch or chunk
 * fails to unwrap.
 *
 * Error contract (every provider): an answer from the KMS that says "no" is final —
 * `KISEKI_E_CRYPTO` (does not open under this context), `KISEKI_E_SHREDDED` (the KEK is gone),
 * `KISEKI_E_AUTH` (the KMS refused our credentials), `KISEKI_E_CORRUPT` (not a blob of ours).
 * Not getting an answer is `KISEKI_E_UNAVAILABLE` or `KISEKI_E_TIMEOUT`, which `resilient()`
 * retries and counts towards its circuit breaker. Messages never carry key material.
 */
import { randomBytes } from 'node:crypto';
import { KisekiError } from '@kiseki/proto';

export type KmsKind = 'internal' | 'vault' | 'kmip' | 'aws-kms' | 'pkcs11';

export interface WrapContext {
  readonly tenant: string;
  readonly epoch: number;
  readonly purpose: 'tenant-data-key' | 'chunk-dek';
  /** Hex chunk id, for wraps that belong to one chunk (I-K17). */
  readonly chunkId?: string;
}

export interface KmsCallOptions {
  /** Aborts the wait (and the request where the transport allows). */
  readonly signal?: AbortSignal;
}

export interface KmsHealth {
  readonly kind: KmsKind;
  readonly ok: boolean;
  readonly latencyMs: number;
  /** What was checked, or why it failed; never a credential. */
  readonly detail: string;
}

export interface DataKey {
  /** 32 bytes; the caller zeroes it when done. */
  readonly plaintext: Buffer;
  readonly wrapped: Uint8Array;
}

export interface TenantKmsProvider {
  readonly kind: KmsKind;
  /** Creates the tenant's KEK if it does not exist. Idempotent. */
  ensureKek(tenant: string, opts?: KmsCallOptions): Promise<void>;
  /** Wraps a 32-byte key under the tenant KEK, bound to `ctx`. */
  wrap(key: Uint8Array, ctx: WrapContext, opts?: KmsCallOptions): Promise<Uint8Array>;
  /** Opens a blob from `wrap` (or `generateDataKey`) under exactly the same `ctx`. */
  unwrap(wrapped: Uint8Array, ctx: WrapContext, opts?: KmsCallOptions): Promise<Uint8Array>;
  /** A fresh 32-byte key and its wrapped form, made by the KMS where it can. */
  generateDataKey(ctx: WrapContext, opts?: KmsCallOptions): Promise<DataKey>;
  /** Reachability and credentials; for one tenant, also that its KEK is usable. */
  health(opts?: KmsCallOptions & { tenant?: string }): Promise<KmsHealth>;
  /** Crypto-shred: destroys the tenant KEK; every wrapped key of the tenant becomes useless.
   * Idempotent: destroying a KEK that is already gone succeeds. */
  destroyKek(tenant: string, opts?: KmsCallOptions): Promise<void>;
  /** Releases connections and sessions. */
  close(): Promise<void>;
}

export const DATA_KEY_BYTES = 32;

/** The canonical AAD for a wrap context. Tenant names and chunk ids never contain NUL. */
export function contextAad(ctx: WrapContext): Buffer {
  if (ctx.tenant.includes('\0') || (ctx.chunkId ?? '').includes('\0')) {
    throw new Error('wrap context fields must not contain NUL');
  }
  const base = `kiseki/v1/wrap\0${ctx.purpose}\0${ctx.tenant}\0${ctx.epoch}`;
  return Buffer.from(ctx.chunkId === undefined ? base : `${base}\0${ctx.chunkId}`);
}

/** The same context as string pairs, for KMSes that take a map (AWS encryption context). */
export function contextMap(ctx: WrapContext): Record<string, string> {
  const m: Record<string, string> = {
    'kiseki:purpose': ctx.purpose,
    'kiseki:tenant': ctx.tenant,
    'kiseki:epoch': String(ctx.epoch),
  };
  if (ctx.chunkId !== undefined) m['kiseki:chunk'] = ctx.chunkId;
  return m;
}

/** `generateDataKey` for KMSes without a native one: local CSPRNG, then wrap. */
export async function generateThenWrap(
  p: Pick<TenantKmsProvider, 'wrap'>,
  ctx: WrapContext,
  opts?: KmsCallOptions,
): Promise<DataKey> {
  const plaintext = randomBytes(DATA_KEY_BYTES);
  try {
    return { plaintext, wrapped: await p.wrap(plaintext, ctx, opts) };
  } catch (err) {
    plaintext.fill(0);
    throw err;
  }
}

const TENANT_NAME_RE = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** Providers put the tenant name in file names, key names and labels: refuse anything else. */
export function assertTenantName(tenant: string): void {
  if (!TENANT_NAME_RE.test(tenant)) {
    throw new KisekiError(
      'KISEKI_E_INVAL',
      `invalid tenant name for a KMS key: ${JSON.stringify(tenant).slice(0, 80)}`,
    );
  }
}

/** Starts timing a health check; the returned function makes its report. */
export function healthReport(kind: KmsKind): (ok: boolean, detail: string) => KmsHealth {
  const t0 = performance.now();
  return (ok, detail) => ({ kind, ok, latencyMs: performance.now() - t0, detail });
}
