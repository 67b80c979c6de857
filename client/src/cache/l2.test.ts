import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KisekiError } from '@kiseki/proto';
import { afterEach, describe, expect, it } from 'vitest';
import { type CacheMode, L2Cache } from './l2.ts';

const dirs: string[] = [];
function fresh(): string {
  const d = mkdtempSync(join(tmpdir(), 'kiseki-l2-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const id = (n: number) => createHash('sha256').update(String(n)).digest('hex');
const open = (dir: string, capacityBytes: number, mode: CacheMode = 'organic') =>
  L2Cache.open({ dir, tenant: 't1', capacityBytes, mode });

describe('L2Cache', () => {
  it('keeps what it is given and hands back the same bytes', async () => {
    const c = open(fresh(), 1 << 20);
    const env = randomBytes(1000);
    expect(await c.put(id(1), env)).toBe(true);
    expect((await c.get(id(1)))?.equals(env)).toBe(true);
    expect(await c.get(id(2))).toBeUndefined();
    expect(c.stats()).toMatchObject({ entries: 1, bytes: 1000, hits: 1, misses: 1, fills: 1 });
  });

  it('stays within its byte bound by evicting the least recently used organic entries', async () => {
    const c = open(fresh(), 3000);
    for (let i = 0; i < 3; i++) await c.put(id(i), randomBytes(1000));
    await c.get(id(0)); // 0 is now the youngest
    await c.put(id(3), randomBytes(1000));
    expect(c.stats().bytes).toBe(3000);
    expect(await c.get(id(1))).toBeUndefined();
    for (const i of [0, 2, 3]) expect(await c.get(id(i))).toBeDefined();
    expect(c.stats().evictions).toBe(1);
  });

  it('never evicts staged (pinned) data for organic fills, and refuses staging past capacity', async () => {
    const c = open(fresh(), 3000);
    await c.put(id(0), randomBytes(1000), true);
    await c.put(id(1), randomBytes(1000), true);
    await c.put(id(2), randomBytes(1000));
    await c.put(id(3), randomBytes(1000));
    expect(await c.get(id(0))).toBeDefined();
    expect(await c.get(id(1))).toBeDefined();
    expect(await c.get(id(2))).toBeUndefined();
    const err = await c.put(id(4), randomBytes(1500), true).catch((e) => e);
    expect(err).toBeInstanceOf(KisekiError);
    expect((err as KisekiError).code).toBe('KISEKI_E_NOSPC');
    expect(c.stats().pinnedBytes).toBe(2000);
  });

  it('survives a restart with its recency order, and clears writes that died before their rename', async () => {
    const dir = fresh();
    const a = open(dir, 10_000);
    for (let i = 0; i < 3; i++) await a.put(id(i), Buffer.alloc(1000, i));
    const old = new Date(Date.now() - 3_600_000);
    utimesSync(join(dir, 't1', 'organic', id(1).slice(0, 2), id(1)), old, old);
    const torn = join(dir, 't1', 'organic', id(0).slice(0, 2), '.tmp-deadbeef');
    writeFileSync(torn, 'partial');
    const b = open(dir, 2000); // smaller bound: the oldest (1) must go first
    expect(existsSync(torn)).toBe(false);
    expect(b.stats().entries).toBe(2);
    expect(await b.get(id(1))).toBeUndefined();
    expect((await b.get(id(2)))?.[0]).toBe(2);
  });

  it('sees entries another process staged into the same directory', async () => {
    const dir = fresh();
    const mount = open(dir, 1 << 20);
    const stager = open(dir, 1 << 20);
    await stager.put(id(7), Buffer.from('staged'), true);
    expect((await mount.get(id(7)))?.toString()).toBe('staged');
  });

  it('drops an entry that failed to open, and wipes everything', async () => {
    const c = open(fresh(), 1 << 20);
    await c.put(id(1), Buffer.from('x'));
    await c.put(id(2), Buffer.from('y'), true);
    await c.drop(id(1));
    expect(await c.get(id(1))).toBeUndefined();
    expect(c.stats().corrupt).toBe(1);
    c.wipe();
    expect(await c.get(id(2))).toBeUndefined();
    expect(c.stats()).toMatchObject({ entries: 0, bytes: 0, pinnedBytes: 0 });
    expect(readdirSync(c.dir).sort()).toEqual(['organic', 'pinned']);
  });

  it('bypass keeps nothing; pinned mode fills only from staging', async () => {
    const dir = fresh();
    const b = open(dir, 1 << 20, 'bypass');
    expect(await b.put(id(1), Buffer.from('x'))).toBe(false);
    expect(await b.get(id(1))).toBeUndefined();
    expect(existsSync(join(dir, 't1'))).toBe(false);
    const p = open(dir, 1 << 20, 'pinned');
    expect(await p.put(id(1), Buffer.from('x'))).toBe(false);
    expect(await p.put(id(1), Buffer.from('x'), true)).toBe(true);
    expect(await p.get(id(1))).toBeDefined();
  });

  it('refuses hostile ids and tenant names instead of touching paths outside the cache', async () => {
    const dir = fresh();
    const c = open(dir, 1 << 20);
    expect(await c.put('../../etc/passwd', Buffer.from('x'))).toBe(false);
    expect(await c.get('../../etc/passwd')).toBeUndefined();
    expect(() => L2Cache.open({ dir, tenant: '../x', capacityBytes: 1, mode: 'organic' })).toThrow(
      KisekiError,
    );
    expect(() => L2Cache.open({ dir, tenant: 't', capacityBytes: -1, mode: 'organic' })).toThrow(KisekiError);
  });
});
