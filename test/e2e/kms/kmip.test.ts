/**
 * The KMIP provider against a real PyKMIP server started by the test (mutual TLS, KMIP 2.0).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KmipKms } from '../../../server/src/keys/providers/kmip.ts';
import type { WrapContext } from '../../../server/src/keys/providers/provider.ts';
import { resilient } from '../../../server/src/keys/providers/resilience.ts';
import { issueClientCert, makeTestPki } from '../../kms-servers/certs.ts';
import { type PyKmipServer, pyKmipAvailable, startPyKmip } from '../../kms-servers/pykmip.ts';
import { providerContract } from './contract.ts';

describe.skipIf(!pyKmipAvailable())('KMIP provider on PyKMIP', () => {
  let srv: PyKmipServer;
  let kms: KmipKms;
  const clientFor = (s: PyKmipServer, cert = s.pki.clientCert, key = s.pki.clientKey) =>
    new KmipKms({
      host: s.host,
      port: s.port,
      caPem: s.pki.caPem,
      clientCertPem: readFileSync(cert, 'utf8'),
      clientKeyPem: readFileSync(key, 'utf8'),
    });

  beforeAll(async () => {
    srv = await startPyKmip();
    kms = clientFor(srv);
  });
  afterAll(async () => {
    await kms?.close();
    await srv?.stop();
  });

  providerContract(() => kms, 'km');

  it('speaks KMIP 2.0, the newest version PyKMIP offers', async () => {
    const h = await kms.health();
    expect(h).toMatchObject({ ok: true, detail: /protocol 2\.0 \(offers 2\.0, 1\.4/ });
  });

  it('I-T3: another client identity (same CA, other CN) cannot use the tenant key; an untrusted CA cannot connect', async () => {
    const ctx: WrapContext = { tenant: 'km-owner', epoch: 1, purpose: 'tenant-data-key' };
    await kms.ensureKek(ctx.tenant);
    const w = await kms.wrap(Buffer.alloc(32, 1), ctx);
    const other = issueClientCert(srv.pki, 'other-cluster');
    const intruder = clientFor(srv, other.cert, other.key);
    await expect(intruder.unwrap(w, ctx)).rejects.toMatchObject({
      code: expect.stringMatching(/KISEKI_E_(SHREDDED|CRYPTO)/),
    });
    expect(await intruder.health({ tenant: ctx.tenant })).toMatchObject({ ok: false });
    await intruder.close();
    const foreignDir = mkdtempSync(join(tmpdir(), 'kiseki-foreign-pki-'));
    try {
      const foreign = makeTestPki(foreignDir, 'kiseki-node');
      const stranger = clientFor(srv, foreign.clientCert, foreign.clientKey);
      await expect(stranger.unwrap(w, ctx)).rejects.toMatchObject({ code: 'KISEKI_E_UNAVAILABLE' });
      await stranger.close();
    } finally {
      rmSync(foreignDir, { recursive: true, force: true });
    }
    expect(Buffer.from(await kms.unwrap(w, ctx))).toEqual(Buffer.alloc(32, 1));
  });

  it('a stopped server is KISEKI_E_UNAVAILABLE, and the breaker opens (runs last: stops the server)', async () => {
    const r = resilient(kms, { attemptsMax: 2, backoffBaseMs: 5, breakerFailuresMax: 2 });
    await r.ensureKek('km-x');
    await srv.stop();
    await expect(
      r.wrap(Buffer.alloc(32), { tenant: 'km-x', epoch: 1, purpose: 'tenant-data-key' }),
    ).rejects.toMatchObject({
      code: 'KISEKI_E_UNAVAILABLE',
    });
    expect(r.breaker.state).toBe('open');
  });
});
