/**
 * `pnpm bench kms`: latency of one tenant data-key wrap and unwrap per provider, each on its
 * real server (SoftHSM2, PyKMIP) or its test server (Vault, AWS KMS) on loopback, through the
 * resilience layer, plus the one-off cost of a cold key lookup (session/TLS setup).
 * Prints p50/p99 in ms per operation. Options: --ops N (default 300).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AwsKms } from '../../server/src/keys/providers/aws-kms.ts';
import { InternalKms } from '../../server/src/keys/providers/internal.ts';
import { KmipKms } from '../../server/src/keys/providers/kmip.ts';
import { Pkcs11Kms } from '../../server/src/keys/providers/pkcs11.ts';
import type { TenantKmsProvider, WrapContext } from '../../server/src/keys/providers/provider.ts';
import { resilient } from '../../server/src/keys/providers/resilience.ts';
import { VaultKms } from '../../server/src/keys/providers/vault.ts';
import { startAwsKmsTestServer } from '../kms-servers/aws-kms.ts';
import { makeTestPki } from '../kms-servers/certs.ts';
import { startPyKmip } from '../kms-servers/pykmip.ts';
import { createSoftHsmToken } from '../kms-servers/softhsm.ts';
import { startVaultTestServer } from '../kms-servers/vault.ts';

const { values } = parseArgs({ options: { ops: { type: 'string', default: '300' } } });
const OPS = Number(values.ops);

const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;

async function measure(name: string, make: () => TenantKmsProvider): Promise<void> {
  const p = resilient(make());
  const ctx: WrapContext = { tenant: 'bench', epoch: 1, purpose: 'tenant-data-key' };
  const t0 = performance.now();
  await p.ensureKek('bench');
  const first = await p.generateDataKey(ctx);
  await p.unwrap(first.wrapped, ctx);
  const coldMs = performance.now() - t0;
  const wrap: number[] = [];
  const unwrap: number[] = [];
  for (let i = 0; i < OPS; i++) {
    const a = performance.now();
    const w = await p.wrap(first.plaintext, { ...ctx, epoch: 2 + i });
    const b = performance.now();
    await p.unwrap(w, { ...ctx, epoch: 2 + i });
    unwrap.push(performance.now() - b);
    wrap.push(b - a);
  }
  await p.close();
  const f = (x: number) => x.toFixed(2);
  console.log(
    `${name.padEnd(10)} cold ${f(coldMs).padStart(8)} ms   wrap p50 ${f(pct(wrap, 0.5))} p99 ${f(pct(wrap, 0.99))} ms   unwrap p50 ${f(pct(unwrap, 0.5))} p99 ${f(pct(unwrap, 0.99))} ms`,
  );
}

const dir = mkdtempSync(join(tmpdir(), 'kiseki-kms-bench-'));
const pki = makeTestPki(dir);
const token = createSoftHsmToken();
process.env.SOFTHSM2_CONF = token.conf;
const vault = await startVaultTestServer(pki);
const aws = await startAwsKmsTestServer(pki);
const kmip = await startPyKmip();
try {
  console.log(`kms bench: ${OPS} wraps + unwraps per provider, one at a time`);
  await measure('internal', () => new InternalKms(join(dir, 'internal')));
  await measure(
    'pkcs11',
    () => new Pkcs11Kms({ library: token.library, tokenLabel: token.tokenLabel, pin: token.pin }),
  );
  await measure(
    'vault*',
    () =>
      new VaultKms({
        url: vault.url,
        caPem: vault.caPem,
        auth: { method: 'token', token: vault.kisekiToken },
      }),
  );
  await measure(
    'aws-kms*',
    () =>
      new AwsKms({
        region: aws.region,
        endpoint: aws.endpoint,
        caPem: aws.caPem,
        credentials: { accessKeyId: aws.accessKeyId, secretAccessKey: aws.secretAccessKey },
      }),
  );
  await measure(
    'kmip',
    () =>
      new KmipKms({
        host: kmip.host,
        port: kmip.port,
        caPem: kmip.pki.caPem,
        clientCertPem: readFileSync(kmip.pki.clientCert, 'utf8'),
        clientKeyPem: readFileSync(kmip.pki.clientKey, 'utf8'),
      }),
  );
  console.log('* test server in this process (same event loop): a lower bound, not a real Vault/AWS');
} finally {
  await vault.close();
  await aws.close();
  await kmip.stop();
  token.cleanup();
  rmSync(dir, { recursive: true, force: true });
}
