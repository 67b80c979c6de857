import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { appendAudit, readAudit, verifyAudit } from './audit.ts';
import { KeyManager } from './manager.ts';
import { InternalKms } from './providers/internal.ts';

describe('key audit trail', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const keysDir = () => {
    const d = mkdtempSync(join(tmpdir(), 'kiseki-audit-'));
    dirs.push(d);
    return join(d, 'keys');
  };

  it('records every key operation of the key manager, chained; concurrent appends keep the chain', async () => {
    const dir = keysDir();
    const kms = new InternalKms(join(dir, '..', 'kms'));
    let now = 0;
    const km = await KeyManager.open({ dir, provider: () => kms, cacheTtlMs: 10, clock: () => (now += 20) });
    await km.createTenant('t');
    await km.tenantKeys('t');
    await km.rotate('t');
    await km.tenantKeys('t');
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        appendAudit(dir, 't', { op: 'kms.configure', actor: `admin:${i}`, outcome: 'ok' }),
      ),
    );
    await km.shred('t');
    const r = readAudit(dir, 't');
    expect(r.map((x) => x.op).slice(0, 4)).toEqual(['key.create', 'key.unwrap', 'key.rotate', 'key.unwrap']);
    expect(r.at(-1)).toMatchObject({
      op: 'tenant.shred',
      actor: 'kiseki-server',
      kms: 'internal',
      outcome: 'ok',
    });
    expect(r[2]).toMatchObject({ epoch: 2 });
    expect(r).toHaveLength(25);
    expect(verifyAudit(r)).toEqual({ ok: true });
    km.close();
  });

  it('an edited, removed or reordered line breaks the chain at that record', async () => {
    const dir = keysDir();
    for (let i = 0; i < 5; i++)
      await appendAudit(dir, 't', { op: 'key.unwrap', actor: 'kiseki-server', epoch: i, outcome: 'ok' });
    const path = join(dir, 'tenants/t/audit.jsonl');
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    const check = (ls: string[]) => verifyAudit(ls.map((l) => JSON.parse(l)));
    expect(check(lines)).toEqual({ ok: true });
    expect(
      check([...lines.slice(0, 2), lines[2]!.replace('"epoch":2', '"epoch":7'), ...lines.slice(3)]),
    ).toEqual({ ok: false, brokenAt: 3 });
    expect(check([...lines.slice(0, 1), ...lines.slice(2)])).toEqual({ ok: false, brokenAt: 2 });
    expect(check([lines[1]!, lines[0]!, ...lines.slice(2)])).toEqual({ ok: false, brokenAt: 1 });
    writeFileSync(path, `${lines.slice(0, 4).join('\n')}\n`); // the tail cut off: still a valid prefix
    await appendAudit(dir, 't', {
      op: 'tenant.shred',
      actor: 'admin:root',
      outcome: 'failed',
      code: 'KISEKI_E_UNAVAILABLE',
    });
    expect(verifyAudit(readAudit(dir, 't'))).toEqual({ ok: true });
  });
});
