/**
 * The AWS KMS provider against the AWS KMS test server (test/kms-servers/aws-kms.ts) over
 * HTTPS. The test server's SigV4 check is itself checked against awscli (botocore's signer).
 * With KISEKI_TEST_AWS_KMS_ENDPOINT, KISEKI_TEST_AWS_REGION and AWS_ACCESS_KEY_ID /
 * AWS_SECRET_ACCESS_KEY set, the contract runs against that real KMS instead.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsKms } from '../../../server/src/keys/providers/aws-kms.ts';
import { resilient } from '../../../server/src/keys/providers/resilience.ts';
import { unframeWrapped } from '../../../server/src/keys/providers/wrap-format.ts';
import { type AwsKmsTestServer, startAwsKmsTestServer } from '../../kms-servers/aws-kms.ts';
import { makeTestPki, type TestPki } from '../../kms-servers/certs.ts';
import { providerContract } from './contract.ts';

const run = promisify(execFile);
const REAL = process.env.KISEKI_TEST_AWS_KMS_ENDPOINT;
const AWS_CLI = '/usr/bin/aws';
const ctx = { tenant: 'aws-a', epoch: 1, purpose: 'tenant-data-key' } as const;

describe('AWS KMS provider', () => {
  let dir: string;
  let pki: TestPki;
  let srv: AwsKmsTestServer | undefined;
  let kms: AwsKms;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kiseki-awskms-'));
    if (REAL) {
      kms = new AwsKms({
        region: process.env.KISEKI_TEST_AWS_REGION ?? 'us-east-1',
        endpoint: REAL,
        credentials: {
          accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? '',
          secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? '',
          sessionToken: process.env.AWS_SESSION_TOKEN,
        },
      });
      return;
    }
    pki = makeTestPki(dir);
    srv = await startAwsKmsTestServer(pki);
    kms = new AwsKms({
      region: srv.region,
      endpoint: srv.endpoint,
      caPem: srv.caPem,
      credentials: { accessKeyId: srv.accessKeyId, secretAccessKey: srv.secretAccessKey },
    });
  });
  afterAll(async () => {
    await kms?.close();
    await srv?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  providerContract(() => kms, 'aw');

  describe.skipIf(REAL)('against the test server', () => {
    const cli = (args: string[], secret = srv!.secretAccessKey) =>
      run(
        AWS_CLI,
        [
          'kms',
          ...args,
          '--endpoint-url',
          srv!.endpoint,
          '--ca-bundle',
          pki.caCert,
          '--region',
          srv!.region,
          '--output',
          'json',
        ],
        {
          env: {
            PATH: process.env.PATH,
            HOME: dir,
            AWS_ACCESS_KEY_ID: srv!.accessKeyId,
            AWS_SECRET_ACCESS_KEY: secret,
            AWS_EC2_METADATA_DISABLED: 'true',
          },
          timeout: 30_000,
        },
      );

    it('every call the provider made was signed and verified', () => {
      expect(srv!.requests.length).toBeGreaterThan(30);
      expect(srv!.requests.every((r) => r.signature === 'ok')).toBe(true);
    });

    it.skipIf(!existsSync(AWS_CLI))(
      'awscli (botocore SigV4) is accepted, and decrypts a provider blob with the same encryption context',
      async () => {
        await kms.ensureKek('aws-a');
        const w = await kms.wrap(Buffer.alloc(32, 0x42), ctx);
        const blob = join(dir, 'blob.bin');
        writeFileSync(blob, unframeWrapped('aws-kms', w));
        const ec = 'kiseki:purpose=tenant-data-key,kiseki:tenant=aws-a,kiseki:epoch=1';
        const { stdout } = await cli([
          'decrypt',
          '--ciphertext-blob',
          `fileb://${blob}`,
          '--encryption-context',
          ec,
          '--key-id',
          'alias/kiseki-tenant-aws-a',
        ]);
        expect(Buffer.from(JSON.parse(stdout).Plaintext, 'base64')).toEqual(Buffer.alloc(32, 0x42));
        const wrongEc = cli([
          'decrypt',
          '--ciphertext-blob',
          `fileb://${blob}`,
          '--encryption-context',
          'kiseki:tenant=aws-b',
        ]);
        await expect(wrongEc).rejects.toThrow(/InvalidCiphertextException/);
        await expect(cli(['list-aliases'], 'wrong-secret')).rejects.toThrow(/InvalidSignatureException/);
        expect(srv!.requests.some((r) => r.signature === 'bad')).toBe(true);
      },
    );

    it('a wrong secret or unknown access key is KISEKI_E_AUTH; a skewed clock too', async () => {
      for (const credentials of [
        { accessKeyId: srv!.accessKeyId, secretAccessKey: 'wrong' },
        { accessKeyId: 'AKIAUNKNOWN', secretAccessKey: srv!.secretAccessKey },
      ]) {
        const bad = new AwsKms({
          region: srv!.region,
          endpoint: srv!.endpoint,
          caPem: srv!.caPem,
          credentials,
        });
        await expect(bad.wrap(Buffer.alloc(32), ctx)).rejects.toMatchObject({ code: 'KISEKI_E_AUTH' });
        await bad.close();
      }
      const skewed = new AwsKms({
        region: srv!.region,
        endpoint: srv!.endpoint,
        caPem: srv!.caPem,
        credentials: { accessKeyId: srv!.accessKeyId, secretAccessKey: srv!.secretAccessKey },
        clock: () => Date.now() - 20 * 60_000,
      });
      await expect(skewed.wrap(Buffer.alloc(32), ctx)).rejects.toMatchObject({
        code: 'KISEKI_E_AUTH',
        message: /expired/,
      });
      await skewed.close();
    });

    it('throttling is KISEKI_E_UNAVAILABLE and retried; a hang is KISEKI_E_TIMEOUT', async () => {
      await kms.ensureKek('aws-a');
      const r = resilient(kms, { attemptsMax: 3, backoffBaseMs: 5, timeoutMs: 150 });
      srv!.faults.throttle = true;
      const before = srv!.requests.length;
      try {
        await expect(r.wrap(Buffer.alloc(32), ctx)).rejects.toMatchObject({
          code: 'KISEKI_E_UNAVAILABLE',
          message: /Throttling/,
        });
      } finally {
        srv!.faults.throttle = false;
      }
      expect(srv!.requests.length - before).toBe(3);
      srv!.faults.hangMs = 1_000;
      const r2 = resilient(kms, { attemptsMax: 2, backoffBaseMs: 5, timeoutMs: 150 });
      try {
        await expect(r2.wrap(Buffer.alloc(32), ctx)).rejects.toMatchObject({ code: 'KISEKI_E_TIMEOUT' });
      } finally {
        srv!.faults.hangMs = 0;
      }
      expect(Buffer.from(await r2.unwrap(await r2.wrap(Buffer.alloc(32, 6), ctx), ctx))).toEqual(
        Buffer.alloc(32, 6),
      );
    });
  });
});
