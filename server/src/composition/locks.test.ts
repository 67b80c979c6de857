import { KisekiError } from '@kiseki/proto';
import { afterEach, describe, expect, it } from 'vitest';
import { type LockRequest, LockTable } from './locks.ts';

const EOF_ = Number.POSITIVE_INFINITY;
const tables: LockTable[] = [];
function table(opts: { leaseMs?: number; now?: { t: number }; slice?: number } = {}): LockTable {
  const now = opts.now ?? { t: 1_000_000 };
  const t = new LockTable(opts.leaseMs ?? 1000, () => now.t, opts.slice ?? 50);
  // Past the restart grace unless a test wants it.
  now.t += (opts.leaseMs ?? 1000) + 1;
  tables.push(t);
  return t;
}
afterEach(() => {
  for (const t of tables.splice(0)) t.close();
});

function req(p: Partial<LockRequest>): LockRequest {
  return {
    tenant: 't',
    ino: 5,
    kind: 'posix',
    type: 'write',
    client: 'c1',
    owner: 'o1',
    pid: 1,
    start: 0,
    end: EOF_,
    wait: false,
    reclaim: false,
    ...p,
  };
}

describe('LockTable', () => {
  it('POSIX: overlapping write locks of different owners conflict; disjoint ranges and readers share', async () => {
    const t = table();
    expect(await t.acquire(req({ start: 0, end: 99 }))).toBe(true);
    expect(await t.acquire(req({ owner: 'o2', start: 50, end: 150 }))).toBe(false);
    expect(await t.acquire(req({ owner: 'o2', start: 100, end: 150 }))).toBe(true);
    expect(t.test(req({ owner: 'o3', start: 120, end: 120 }))).toMatchObject({ owner: 'o2', start: 100 });
    expect(await t.acquire(req({ owner: 'o3', type: 'read', start: 200, end: 300 }))).toBe(true);
    expect(await t.acquire(req({ owner: 'o4', type: 'read', start: 250, end: 260 }))).toBe(true);
    expect(await t.acquire(req({ owner: 'o4', ino: 6 }))).toBe(true); // another file
  });

  it('POSIX: a new lock of the same owner replaces and splits its old ranges; unlock splits too', async () => {
    const t = table();
    await t.acquire(req({ type: 'write', start: 0, end: 99 }));
    await t.acquire(req({ type: 'read', start: 40, end: 59 }));
    expect(t.held('t', 5).map((l) => [l.type, l.start, l.end])).toEqual([
      ['write', 0, 39],
      ['write', 60, 99],
      ['read', 40, 59],
    ]);
    t.release('t', 5, 'posix', 'c1', 'o1', { start: 10, end: 69 });
    expect(t.held('t', 5).map((l) => [l.type, l.start, l.end])).toEqual([
      ['write', 0, 9],
      ['write', 70, 99],
    ]);
    expect(await t.acquire(req({ owner: 'o2', start: 10, end: 69 }))).toBe(true);
  });

  it('flock and POSIX locks are independent; flock converts shared to exclusive for its owner', async () => {
    const t = table();
    expect(await t.acquire(req({ kind: 'flock', type: 'read' }))).toBe(true);
    expect(await t.acquire(req({ kind: 'posix', owner: 'o2' }))).toBe(true);
    expect(await t.acquire(req({ kind: 'flock', type: 'read', owner: 'o3' }))).toBe(true);
    expect(await t.acquire(req({ kind: 'flock', type: 'write' }))).toBe(false); // o3 shares it
    t.release('t', 5, 'flock', 'c1', 'o3');
    expect(await t.acquire(req({ kind: 'flock', type: 'write' }))).toBe(true);
    expect(t.held('t', 5).filter((l) => l.kind === 'flock')).toHaveLength(1);
  });

  it('a waiter is granted when the holder unlocks, and told to ask again when its slice ends', async () => {
    const t = table({ slice: 200 });
    await t.acquire(req({}));
    const waiting = t.acquire(req({ owner: 'o2', wait: true }));
    setTimeout(() => t.release('t', 5, 'posix', 'c1', 'o1'), 20);
    expect(await waiting).toBe(true);
    const slice = t.acquire(req({ owner: 'o3', wait: true }));
    expect(await slice).toBe(false);
  });

  it('EDEADLK when a wait would close a cycle', async () => {
    const t = table({ slice: 500 });
    await t.acquire(req({ owner: 'a', start: 0, end: 9 }));
    await t.acquire(req({ owner: 'b', start: 10, end: 19 }));
    const aWaits = t.acquire(req({ owner: 'a', start: 10, end: 19, wait: true }));
    const err = await t.acquire(req({ owner: 'b', start: 0, end: 9, wait: true })).catch((e) => e);
    expect(err).toBeInstanceOf(KisekiError);
    expect((err as KisekiError).code).toBe('KISEKI_E_DEADLK');
    t.release('t', 5, 'posix', 'c1', 'b');
    expect(await aWaits).toBe(true);
  });

  it('a client that stops renewing loses its locks after the lease, and its waits end', async () => {
    const now = { t: 1_000_000 };
    const t = table({ leaseMs: 1000, now, slice: 5000 });
    await t.acquire(req({ client: 'dead' }));
    const waiting = t.acquire(req({ client: 'live', wait: true }));
    now.t += 600;
    t.renew('live');
    t.expire();
    expect(t.held('t', 5)[0]?.client).toBe('dead');
    now.t += 600;
    t.expire();
    expect(await waiting).toBe(true);
    expect(t.held('t', 5).map((l) => l.client)).toEqual(['live']);
  });

  it('after a restart, only reclaims are granted for one lease', async () => {
    const now = { t: 5_000 };
    const t = new LockTable(1000, () => now.t, 50);
    tables.push(t);
    expect(t.inGrace()).toBe(true);
    const err = await t.acquire(req({ owner: 'new' })).catch((e) => e);
    expect((err as KisekiError).code).toBe('KISEKI_E_AGAIN');
    expect(await t.acquire(req({ owner: 'old', reclaim: true }))).toBe(true);
    now.t += 1001;
    expect(await t.acquire(req({ owner: 'new' }))).toBe(false);
  });

  it('refuses hostile ranges', async () => {
    const t = table();
    for (const r of [
      { start: -1, end: 5 },
      { start: 10, end: 5 },
      { start: Number.NaN, end: 5 },
      { start: 0, end: 2 ** 60 },
    ]) {
      await expect(t.acquire(req(r))).rejects.toThrow(KisekiError);
    }
  });
});

describe('LockTable restart grace marker', () => {
  it('grace only when the last run may have held locks; the marker goes a lease after the last lock', async () => {
    const { mkdtempSync, existsSync, rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'kiseki-locks-'));
    const marker = join(dir, 'locks.held');
    const now = { t: 10_000 };
    try {
      const first = new LockTable(1000, () => now.t, 50, marker);
      tables.push(first);
      expect(first.inGrace()).toBe(false); // a fresh node: nothing to reclaim
      expect(existsSync(marker)).toBe(false);
      expect(await first.acquire(req({}))).toBe(true);
      expect(existsSync(marker)).toBe(true);
      first.release('t', 5, 'posix', 'c1', 'o1');
      now.t += 500;
      first.expire();
      expect(existsSync(marker)).toBe(true); // empty for less than a lease
      now.t += 600;
      first.expire();
      expect(existsSync(marker)).toBe(false);
      expect(await first.acquire(req({}))).toBe(true);
      // "Crash" while holding: the next start waits for reclaims, then drops the marker.
      const second = new LockTable(1000, () => now.t, 50, marker);
      tables.push(second);
      expect(second.inGrace()).toBe(true);
      now.t += 1001;
      second.expire();
      expect(existsSync(marker)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
