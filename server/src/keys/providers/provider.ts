/**
 * The one interface every tenant KMS provider implements (I-K16): callers see opaque wrapped
 * blobs and never learn where the tenant KEK lives. Every wrap and unwrap binds its context as
 * AAD (I-K17), so a wrapped key moved to another tenant or epoch fails to unwrap.
 */
export interface WrapContext {
  readonly tenant: string;
  readonly epoch: number;
  readonly purpose: 'tenant-data-key';
}

export interface TenantKmsProvider {
  readonly kind: 'internal' | 'vault' | 'kmip' | 'aws-kms' | 'pkcs11';
  /** Creates the tenant's KEK if it does not exist. Idempotent. */
  ensureKek(tenant: string): Promise<void>;
  wrap(key: Uint8Array, ctx: WrapContext): Promise<Uint8Array>;
  unwrap(wrapped: Uint8Array, ctx: WrapContext): Promise<Uint8Array>;
  /** Crypto-shred: destroys the tenant KEK; every wrapped key of the tenant becomes useless. */
  destroyKek(tenant: string): Promise<void>;
}

export function contextAad(ctx: WrapContext): Buffer {
  return Buffer.from(`kiseki/v1/wrap\0${ctx.purpose}\0${ctx.tenant}\0${ctx.epoch}`);
}
