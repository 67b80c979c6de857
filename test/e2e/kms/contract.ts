/**
 * The behaviour every TenantKmsProvider owes its callers (I-K16, I-K17, I-K5, I-T3), run against
 * each provider on its real (or faithful test) server.
 */
import { expect, it } from 'vitest';
import type { TenantKmsProvider, WrapContext } from '../../../server/src/keys/providers/provider.ts';

export function providerContract(get: () => TenantKmsProvider, tenantPrefix = 'c'): void {
  const t = (n: string) => `${tenantPrefix}-${n}`;

  it('wraps and unwraps a tenant data key; ensureKek is idempotent', async () => {
    const p = get();
    await p.ensureKek(t('a'));
    await p.ensureKek(t('a'));
    const key = Buffer.alloc(32, 7);
    const ctx: WrapContext = { tenant: t('a'), epoch: 1, purpose: 'tenant-data-key' };
    const w = await p.wrap(key, ctx);
    expect(Buffer.from(w).includes(key)).toBe(false);
    expect(Buffer.from(await p.unwrap(w, ctx))).toEqual(key);
    const again = await p.wrap(key, ctx);
    expect(Buffer.from(again)).not.toEqual(Buffer.from(w));
  });

  it('generateDataKey gives a fresh key that unwraps to itself', async () => {
    const p = get();
    await p.ensureKek(t('a'));
    const ctx: WrapContext = { tenant: t('a'), epoch: 2, purpose: 'tenant-data-key' };
    const a = await p.generateDataKey(ctx);
    const b = await p.generateDataKey(ctx);
    expect(a.plaintext.length).toBe(32);
    expect(a.plaintext.equals(b.plaintext)).toBe(false);
    expect(Buffer.from(await p.unwrap(a.wrapped, ctx))).toEqual(a.plaintext);
  });

  it('I-K17: a wrapped key opens only under its own tenant, epoch, purpose and chunk id', async () => {
    const p = get();
    await p.ensureKek(t('a'));
    const ctx: WrapContext = { tenant: t('a'), epoch: 3, purpose: 'chunk-dek', chunkId: 'ab'.repeat(32) };
    const w = await p.wrap(Buffer.alloc(32, 9), ctx);
    expect(Buffer.from(await p.unwrap(w, ctx))).toEqual(Buffer.alloc(32, 9));
    for (const other of [
      { ...ctx, epoch: 4 },
      { ...ctx, chunkId: 'cd'.repeat(32) },
      { ...ctx, chunkId: undefined },
      { ...ctx, purpose: 'tenant-data-key' as const },
    ]) {
      await expect(p.unwrap(w, other)).rejects.toMatchObject({ code: 'KISEKI_E_CRYPTO' });
    }
  });

  it('I-T3: one tenant cannot unwrap another tenant’s key', async () => {
    const p = get();
    await p.ensureKek(t('a'));
    await p.ensureKek(t('b'));
    const ctx: WrapContext = { tenant: t('a'), epoch: 1, purpose: 'tenant-data-key' };
    const w = await p.wrap(Buffer.alloc(32, 3), ctx);
    await expect(p.unwrap(w, { ...ctx, tenant: t('b') })).rejects.toMatchObject({
      code: expect.stringMatching(/KISEKI_E_(CRYPTO|SHREDDED)/),
    });
  });

  it('a damaged or foreign blob is refused with a clear error, never a wrong key', async () => {
    const p = get();
    await p.ensureKek(t('a'));
    const ctx: WrapContext = { tenant: t('a'), epoch: 1, purpose: 'tenant-data-key' };
    const w = Buffer.from(await p.wrap(Buffer.alloc(32, 5), ctx));
    const flipped = Buffer.from(w);
    flipped[flipped.length - 1]! ^= 1;
    await expect(p.unwrap(flipped, ctx)).rejects.toMatchObject({
      code: expect.stringMatching(/KISEKI_E_(CRYPTO|CORRUPT)/),
    });
    await expect(p.unwrap(w.subarray(0, w.length - 3), ctx)).rejects.toMatchObject({
      code: expect.stringMatching(/KISEKI_E_(CRYPTO|CORRUPT)/),
    });
    const foreign = Buffer.from(w);
    foreign[5] = foreign[5] === 2 ? 3 : 2;
    foreign[4] = 2;
    await expect(p.unwrap(foreign, ctx)).rejects.toMatchObject({ code: 'KISEKI_E_CORRUPT' });
    await expect(p.unwrap(Buffer.from('garbage'), ctx)).rejects.toMatchObject({ code: 'KISEKI_E_CORRUPT' });
  });

  it('concurrent wraps and unwraps all round-trip', async () => {
    const p = get();
    await p.ensureKek(t('a'));
    const ctxs = Array.from(
      { length: 12 },
      (_, i): WrapContext => ({ tenant: t('a'), epoch: 10 + i, purpose: 'tenant-data-key' }),
    );
    const keys = await Promise.all(ctxs.map((c) => p.generateDataKey(c)));
    const opened = await Promise.all(keys.map((k, i) => p.unwrap(k.wrapped, ctxs[i]!)));
    expect(opened.map((o) => Buffer.from(o))).toEqual(keys.map((k) => k.plaintext));
  });

  it('health reports ok, and for a tenant whether its KEK is usable', async () => {
    const p = get();
    await p.ensureKek(t('a'));
    expect(await p.health()).toMatchObject({ kind: p.kind, ok: true });
    expect(await p.health({ tenant: t('a') })).toMatchObject({ ok: true });
    expect(await p.health({ tenant: t('never') })).toMatchObject({ ok: false });
  });

  it('I-K5: destroyKek shreds: wrapped keys of that tenant no longer open, others do; idempotent', async () => {
    const p = get();
    await p.ensureKek(t('s'));
    await p.ensureKek(t('keep'));
    const ctx: WrapContext = { tenant: t('s'), epoch: 1, purpose: 'tenant-data-key' };
    const keepCtx: WrapContext = { ...ctx, tenant: t('keep') };
    const w = await p.wrap(Buffer.alloc(32, 1), ctx);
    const kw = await p.wrap(Buffer.alloc(32, 2), keepCtx);
    await p.destroyKek(t('s'));
    await p.destroyKek(t('s'));
    await expect(p.unwrap(w, ctx)).rejects.toMatchObject({ code: 'KISEKI_E_SHREDDED' });
    await expect(p.wrap(Buffer.alloc(32, 1), ctx)).rejects.toMatchObject({ code: 'KISEKI_E_SHREDDED' });
    expect(Buffer.from(await p.unwrap(kw, keepCtx))).toEqual(Buffer.alloc(32, 2));
  });
}
