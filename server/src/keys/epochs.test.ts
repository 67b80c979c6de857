import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { addEpoch, listEpochs } from './epochs.ts';
import { KeyManager } from './manager.ts';
import { InternalKms } from './providers/internal.ts';
import type { TenantKmsProvider } from './providers/provider.ts';

describe('data-key epochs (rotation)', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  async function setup() {
    const home = mkdtempSync(join(tmpdir(), 'kiseki-epochs-'));
    dirs.push(home);
    const kms = new InternalKms(join(home, 'kms'));
    let now = 0;
    const km = await KeyManager.open({
      dir: join(home, 'keys'),
      provider: () => kms,
      cacheTtlMs: 1_000,
      clock: () => now,
    });
    await km.createTenant('t');
    return { home, kms, km, tick: (ms: number) => (now += ms) };
  }

  it('I-K6: rotation adds a current epoch for new writes and keeps every older epoch readable', async () => {
    const { km } = await setup();
    const before = await km.tenantKeys('t');
    const epoch1Key = Buffer.from(before.epochs[0]!.tenantKey);
    expect(await km.rotate('t')).toBe(2);
    expect(await km.rotate('t')).toBe(3);
    const after = await km.tenantKeys('t');
    expect(after.currentEpoch).toBe(3);
    expect(after.epochs.map((e) => e.epoch).sort()).toEqual([1, 2, 3]);
    expect(Buffer.from(after.epochs.find((e) => e.epoch === 1)!.tenantKey)).toEqual(epoch1Key);
    expect(new Set(after.epochs.map((e) => Buffer.from(e.tenantKey).toString('hex'))).size).toBe(3);
    expect(km.status('t')).toMatchObject({
      currentEpoch: 3,
      provider: 'internal',
      epochs: [{ epoch: 1, wrappedBy: 'internal' }, { epoch: 2 }, { epoch: 3 }],
    });
    km.close();
  });

  it('two rotations racing: one makes the epoch, the other gets KISEKI_E_BUSY; nothing is overwritten', async () => {
    const { home, kms, km } = await setup();
    const r = await Promise.allSettled([
      addEpoch(join(home, 'keys'), 't', kms),
      addEpoch(join(home, 'keys'), 't', kms),
    ]);
    expect(
      r.filter((x) => x.status === 'fulfilled').map((x) => (x as PromiseFulfilledResult<number>).value),
    ).toEqual([2]);
    expect((r.find((x) => x.status === 'rejected') as PromiseRejectedResult).reason).toMatchObject({
      code: 'KISEKI_E_BUSY',
    });
    expect((await km.tenantKeys('t')).currentEpoch).toBe(2);
    km.close();
  });

  it('I-K5: a rotation racing a shred makes no epoch; reads after the cache TTL fail with KISEKI_E_SHREDDED', async () => {
    const { home, kms, km, tick } = await setup();
    await km.tenantKeys('t');
    await kms.destroyKek('t');
    await expect(km.rotate('t')).rejects.toMatchObject({ code: 'KISEKI_E_SHREDDED' });
    expect(existsSync(join(home, 'keys/tenants/t/epoch-2.wrapped'))).toBe(false);
    expect(listEpochs(join(home, 'keys'), 't').map((e) => e.epoch)).toEqual([1]);
    tick(1_001);
    await expect(km.tenantKeys('t')).rejects.toMatchObject({ code: 'KISEKI_E_SHREDDED' });
    km.close();
  });

  it('I-K5: shred refuses the tenant at once on this node, even if its KMS still answered; createTenant and rotate too', async () => {
    const { home, km } = await setup();
    const kekPath = join(home, 'kms', 't.kek');
    const kek = readFileSync(kekPath);
    await km.tenantKeys('t');
    await km.shred('t');
    expect(existsSync(kekPath)).toBe(false);
    writeFileSync(kekPath, kek); // a KMS that still answers (AWS pending deletion, a stale replica)
    await expect(km.tenantKeys('t')).rejects.toMatchObject({ code: 'KISEKI_E_SHREDDED' });
    await expect(km.rotate('t')).rejects.toMatchObject({ code: 'KISEKI_E_SHREDDED' });
    await km.shred('t'); // idempotent
    km.close();
  });

  it('concurrent lookups after the cache expires unwrap each epoch once (single flight)', async () => {
    const home = mkdtempSync(join(tmpdir(), 'kiseki-epochs-'));
    dirs.push(home);
    const kms = new InternalKms(join(home, 'kms'));
    let unwraps = 0;
    const counting: TenantKmsProvider = {
      kind: 'internal',
      ensureKek: (t) => kms.ensureKek(t),
      wrap: (k, c) => kms.wrap(k, c),
      unwrap: (w, c) => {
        unwraps++;
        return kms.unwrap(w, c);
      },
      generateDataKey: (c) => kms.generateDataKey(c),
      health: (o) => kms.health(o),
      destroyKek: (t) => kms.destroyKek(t),
      close: () => kms.close(),
    };
    let now = 0;
    const km = await KeyManager.open({
      dir: join(home, 'keys'),
      provider: () => counting,
      cacheTtlMs: 1_000,
      clock: () => now,
    });
    await km.createTenant('t');
    await km.rotate('t');
    const sets = await Promise.all(Array.from({ length: 50 }, () => km.tenantKeys('t')));
    expect(unwraps).toBe(2);
    expect(new Set(sets).size).toBe(1);
    now += 1_001;
    await Promise.all(Array.from({ length: 50 }, () => km.tenantKeys('t')));
    expect(unwraps).toBe(4);
    km.close();
  });
});
