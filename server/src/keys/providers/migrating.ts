/**
 * A tenant's provider while it moves from one KMS to another (provider migration without
 * downtime): new wraps go to the new provider; an unwrap goes to whichever provider made the
 * blob, read from its header (wrap-format.ts), so every epoch stays readable while the key
 * manager re-wraps them one by one. Opaque to callers like any provider (I-K16).
 */
import { KisekiError } from '@kiseki/proto';
import type { DataKey, KmsCallOptions, KmsHealth, TenantKmsProvider, WrapContext } from './provider.ts';
import { wrappedKind } from './wrap-format.ts';

export function migratingProvider(next: TenantKmsProvider, previous: TenantKmsProvider): TenantKmsProvider {
  const byBlob = (wrapped: Uint8Array): TenantKmsProvider => {
    const kind = wrappedKind(wrapped);
    if (kind === next.kind) return next;
    if (kind === previous.kind) return previous;
    throw new KisekiError(
      'KISEKI_E_CORRUPT',
      `wrapped key was made by ${kind ?? 'no known'} provider, not ${next.kind} or ${previous.kind}`,
    );
  };
  return {
    kind: next.kind,
    ensureKek: (tenant: string, opts?: KmsCallOptions) => next.ensureKek(tenant, opts),
    wrap: (key: Uint8Array, ctx: WrapContext, opts?: KmsCallOptions) => next.wrap(key, ctx, opts),
    unwrap: async (wrapped: Uint8Array, ctx: WrapContext, opts?: KmsCallOptions) =>
      byBlob(wrapped).unwrap(wrapped, ctx, opts),
    generateDataKey: (ctx: WrapContext, opts?: KmsCallOptions): Promise<DataKey> =>
      next.generateDataKey(ctx, opts),
    health: (opts?: KmsCallOptions & { tenant?: string }): Promise<KmsHealth> => next.health(opts),
    /** A shred during a migration destroys the KEK in both KMSes. */
    destroyKek: async (tenant: string, opts?: KmsCallOptions) => {
      await next.destroyKek(tenant, opts);
      await previous.destroyKek(tenant, opts);
    },
    close: async () => {
      await next.close();
      await previous.close();
    },
  };
}
