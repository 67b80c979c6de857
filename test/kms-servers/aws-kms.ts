/**
 * A small AWS KMS stand-in for tests: the KMS JSON 1.1 actions the AWS KMS provider uses,
 * implemented from the AWS KMS API reference, over HTTPS, with SigV4 verification written
 * independently of the provider's signer (and checked against awscli's botocore signer in the
 * tests). No KMS emulator can be installed here; set KISEKI_TEST_AWS_KMS_ENDPOINT (+ region and
 * the usual AWS_* credentials) to run the contract against a real KMS instead.
 *
 * Implemented: SigV4 (credential scope, 15-minute clock skew, signed host/x-amz-date, signature;
 * UnrecognizedClientException / InvalidSignatureException), CreateKey, CreateAlias, DeleteAlias,
 * DescribeKey, ListAliases, Encrypt, Decrypt (EncryptionContext bound as AAD,
 * IncorrectKeyException when the named key is not the blob's), GenerateDataKey, DisableKey,
 * ScheduleKeyDeletion (7-30 days; the key becomes PendingDeletion and unusable).
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  randomBytes,
  randomUUID,
  timingSafeEqual,
} from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TestPki } from './certs.ts';

interface KmsKey {
  id: string;
  arn: string;
  state: 'Enabled' | 'Disabled' | 'PendingDeletion';
  material: Buffer;
  description: string;
}

export interface AwsKmsTestServer {
  readonly endpoint: string;
  readonly region: string;
  readonly caPem: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly account: string;
  /** Every request: its action and whether its signature verified. */
  readonly requests: Array<{
    action: string;
    signature: 'ok' | 'bad' | 'unknown-key' | 'expired' | 'missing';
  }>;
  faults: { throttle: boolean; hangMs: number };
  close(): Promise<void>;
}

const SKEW_MS_MAX = 15 * 60_000;
const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const hmac = (k: Buffer | string, s: string) => createHmac('sha256', k).update(s).digest();

/** Verifies a SigV4-signed request; returns undefined when good, else the AWS error. */
function verifySigV4(
  req: IncomingMessage,
  body: Buffer,
  secrets: Map<string, string>,
  region: string,
): { type: string; message: string; why: AwsKmsTestServer['requests'][number]['signature'] } | undefined {
  const auth = req.headers.authorization ?? '';
  const m =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(
      auth,
    );
  if (!m)
    return {
      type: 'MissingAuthenticationTokenException',
      message: 'Missing Authentication Token',
      why: 'missing',
    };
  const [, akid, day, reqRegion, service, signedHeaders, signature] = m as unknown as string[];
  const secret = secrets.get(akid!);
  if (secret === undefined) {
    return {
      type: 'UnrecognizedClientException',
      message: 'The security token included in the request is invalid.',
      why: 'unknown-key',
    };
  }
  const amzDate = String(req.headers['x-amz-date'] ?? '');
  const signed = signedHeaders!.split(';');
  if (!signed.includes('host') || !signed.includes('x-amz-date') || !/^\d{8}T\d{6}Z$/.test(amzDate)) {
    return {
      type: 'IncompleteSignatureException',
      message: 'Signature must include host and x-amz-date',
      why: 'bad',
    };
  }
  const t = Date.parse(
    `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`,
  );
  if (!(Math.abs(Date.now() - t) <= SKEW_MS_MAX)) {
    return {
      type: 'InvalidSignatureException',
      message: 'Signature expired: the request time is too far from the server time.',
      why: 'expired',
    };
  }
  if (day !== amzDate.slice(0, 8) || reqRegion !== region || service !== 'kms') {
    return {
      type: 'InvalidSignatureException',
      message: 'Credential should be scoped to a valid region and service.',
      why: 'bad',
    };
  }
  // Canonical request: header values with runs of spaces folded, names lower-case and sorted.
  const headerLines = signed.map((name) => {
    const v = req.headers[name];
    const value = Array.isArray(v) ? v.join(',') : (v ?? '');
    return `${name}:${String(value).trim().replace(/ +/g, ' ')}\n`;
  });
  const url = new URL(req.url ?? '/', 'https://x');
  const query = [...url.searchParams.entries()]
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .sort()
    .join('&');
  const canonical = [req.method, url.pathname, query, headerLines.join(''), signedHeaders, sha256(body)].join(
    '\n',
  );
  const toSign = ['AWS4-HMAC-SHA256', amzDate, `${day}/${region}/kms/aws4_request`, sha256(canonical)].join(
    '\n',
  );
  let k = hmac(`AWS4${secret}`, day!);
  for (const part of [region, 'kms', 'aws4_request']) k = hmac(k, part);
  const expected = hmac(k, toSign);
  if (!timingSafeEqual(expected, Buffer.from(signature!, 'hex'))) {
    return {
      type: 'InvalidSignatureException',
      message:
        'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.',
      why: 'bad',
    };
  }
  return undefined;
}

/** The encryption context as AAD: sorted pairs, so the order of the JSON object does not matter. */
function contextAad(ec: unknown): Buffer {
  const o = (ec ?? {}) as Record<string, string>;
  return Buffer.from(
    JSON.stringify(
      Object.keys(o)
        .sort()
        .map((k) => [k, o[k]]),
    ),
  );
}

export async function startAwsKmsTestServer(pki: TestPki): Promise<AwsKmsTestServer> {
  const region = 'eu-central-1';
  const account = '123456789012';
  const accessKeyId = `AKIA${randomBytes(8).toString('hex').toUpperCase()}`;
  const secretAccessKey = randomBytes(30).toString('base64');
  const secrets = new Map([[accessKeyId, secretAccessKey]]);
  const keys = new Map<string, KmsKey>();
  const aliases = new Map<string, string>();
  const requests: AwsKmsTestServer['requests'] = [];
  const faults = { throttle: false, hangMs: 0 };

  const server: Server = createServer(
    { cert: readFileSync(pki.serverCert), key: readFileSync(pki.serverKey) },
    (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const reply = (status: number, obj: unknown) => {
          const s = JSON.stringify(obj);
          const send = () =>
            res
              .writeHead(status, {
                'content-type': 'application/x-amz-json-1.1',
                'x-amzn-requestid': randomUUID(),
                'content-length': Buffer.byteLength(s),
              })
              .end(s);
          if (faults.hangMs > 0) setTimeout(send, faults.hangMs);
          else send();
        };
        const fail = (type: string, message: string, status = 400) =>
          reply(status, { __type: type, message });
        const target = String(req.headers['x-amz-target'] ?? '');
        const action = target.startsWith('TrentService.') ? target.slice('TrentService.'.length) : '';
        const sig = verifySigV4(req, body, secrets, region);
        requests.push({ action, signature: sig?.why ?? 'ok' });
        if (sig)
          return fail(sig.type, sig.message, sig.type === 'MissingAuthenticationTokenException' ? 403 : 400);
        if (req.method !== 'POST' || req.url !== '/')
          return fail('UnknownOperationException', 'Unknown operation');
        if (faults.throttle) return fail('ThrottlingException', 'Rate exceeded');
        let p: Record<string, unknown>;
        try {
          p = JSON.parse(body.toString('utf8'));
        } catch {
          return fail('SerializationException', 'Start of structure or map found where not expected.');
        }
        const resolve = (keyId: unknown): KmsKey | undefined => {
          const id = String(keyId ?? '');
          const viaAlias = id.startsWith('alias/')
            ? aliases.get(id)
            : id.startsWith('arn:')
              ? id.split('/').pop()
              : id;
          return viaAlias ? keys.get(viaAlias) : undefined;
        };
        const usable = (k: KmsKey | undefined, keyId: unknown): boolean => {
          if (!k) {
            fail('NotFoundException', `Key '${String(keyId)}' does not exist`);
            return false;
          }
          if (k.state === 'Disabled') {
            fail('DisabledException', `${k.arn} is disabled.`);
            return false;
          }
          if (k.state === 'PendingDeletion') {
            fail('KMSInvalidStateException', `${k.arn} is pending deletion.`);
            return false;
          }
          return true;
        };
        const seal = (k: KmsKey, pt: Buffer, ec: unknown): string => {
          const iv = randomBytes(12);
          const c = createCipheriv('aes-256-gcm', k.material, iv);
          c.setAAD(contextAad(ec));
          const ct = Buffer.concat([c.update(pt), c.final(), c.getAuthTag()]);
          return Buffer.concat([Buffer.from('KTS1'), Buffer.from(k.id, 'ascii'), iv, ct]).toString('base64');
        };
        const meta = (k: KmsKey) => ({
          KeyId: k.id,
          Arn: k.arn,
          AWSAccountId: account,
          Enabled: k.state === 'Enabled',
          KeyState: k.state,
          KeyUsage: 'ENCRYPT_DECRYPT',
          KeySpec: 'SYMMETRIC_DEFAULT',
          Description: k.description,
          KeyManager: 'CUSTOMER',
          Origin: 'AWS_KMS',
        });
        switch (action) {
          case 'CreateKey': {
            const id = randomUUID();
            const k: KmsKey = {
              id,
              arn: `arn:aws:kms:${region}:${account}:key/${id}`,
              state: 'Enabled',
              material: randomBytes(32),
              description: String(p.Description ?? ''),
            };
            keys.set(id, k);
            return reply(200, { KeyMetadata: meta(k) });
          }
          case 'CreateAlias': {
            const name = String(p.AliasName ?? '');
            if (!/^alias\/[a-zA-Z0-9/_-]{1,250}$/.test(name) || name.startsWith('alias/aws/'))
              return fail('ValidationException', 'Alias must start with the prefix "alias/"');
            if (aliases.has(name))
              return fail('AlreadyExistsException', `An alias with the name ${name} already exists`);
            const k = resolve(p.TargetKeyId);
            if (!k) return fail('NotFoundException', 'Target key does not exist');
            aliases.set(name, k.id);
            return reply(200, {});
          }
          case 'DeleteAlias': {
            const name = String(p.AliasName ?? '');
            if (!aliases.delete(name)) return fail('NotFoundException', `Alias ${name} is not found.`);
            return reply(200, {});
          }
          case 'DescribeKey': {
            const k = resolve(p.KeyId);
            if (!k) return fail('NotFoundException', `Alias or key '${String(p.KeyId)}' is not found.`);
            return reply(200, { KeyMetadata: meta(k) });
          }
          case 'ListAliases': {
            const limit = Math.max(1, Math.min(100, Number(p.Limit ?? 50)));
            const list = [...aliases].slice(0, limit).map(([AliasName, TargetKeyId]) => ({
              AliasName,
              AliasArn: `arn:aws:kms:${region}:${account}:${AliasName}`,
              TargetKeyId,
            }));
            return reply(200, { Aliases: list, Truncated: aliases.size > limit });
          }
          case 'Encrypt': {
            const k = resolve(p.KeyId);
            if (!usable(k, p.KeyId)) return;
            const pt = Buffer.from(String(p.Plaintext ?? ''), 'base64');
            if (pt.length < 1 || pt.length > 4096)
              return fail('ValidationException', 'Plaintext must be 1 to 4096 bytes');
            return reply(200, {
              CiphertextBlob: seal(k!, pt, p.EncryptionContext),
              KeyId: k!.arn,
              EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
            });
          }
          case 'GenerateDataKey': {
            const k = resolve(p.KeyId);
            if (!usable(k, p.KeyId)) return;
            const bytes =
              p.KeySpec === 'AES_256' ? 32 : p.KeySpec === 'AES_128' ? 16 : Number(p.NumberOfBytes ?? 0);
            if (!(bytes >= 1 && bytes <= 1024))
              return fail('ValidationException', 'Specify KeySpec or NumberOfBytes');
            const dk = randomBytes(bytes);
            return reply(200, {
              CiphertextBlob: seal(k!, dk, p.EncryptionContext),
              Plaintext: dk.toString('base64'),
              KeyId: k!.arn,
            });
          }
          case 'Decrypt': {
            const blob = Buffer.from(String(p.CiphertextBlob ?? ''), 'base64');
            if (blob.length < 4 + 36 + 12 + 16 || !blob.subarray(0, 4).equals(Buffer.from('KTS1'))) {
              return fail('InvalidCiphertextException', '');
            }
            const blobKey = keys.get(blob.subarray(4, 40).toString('ascii'));
            if (p.KeyId !== undefined) {
              const named = resolve(p.KeyId);
              if (!named) return fail('NotFoundException', `Key '${String(p.KeyId)}' does not exist`);
              if (!blobKey || named.id !== blobKey.id)
                return fail(
                  'IncorrectKeyException',
                  'The key ID in the request does not identify a CMK that can perform this operation.',
                );
            }
            if (!usable(blobKey, 'from ciphertext')) return;
            try {
              const d = createDecipheriv('aes-256-gcm', blobKey!.material, blob.subarray(40, 52));
              d.setAAD(contextAad(p.EncryptionContext));
              d.setAuthTag(blob.subarray(blob.length - 16));
              const pt = Buffer.concat([d.update(blob.subarray(52, blob.length - 16)), d.final()]);
              return reply(200, {
                Plaintext: pt.toString('base64'),
                KeyId: blobKey!.arn,
                EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
              });
            } catch {
              return fail('InvalidCiphertextException', '');
            }
          }
          case 'DisableKey': {
            const k = resolve(p.KeyId);
            if (!k) return fail('NotFoundException', 'Key does not exist');
            if (k.state === 'PendingDeletion')
              return fail('KMSInvalidStateException', `${k.arn} is pending deletion.`);
            k.state = 'Disabled';
            return reply(200, {});
          }
          case 'ScheduleKeyDeletion': {
            const k = resolve(p.KeyId);
            if (!k) return fail('NotFoundException', 'Key does not exist');
            const days = Number(p.PendingWindowInDays ?? 30);
            if (!(days >= 7 && days <= 30))
              return fail('ValidationException', 'PendingWindowInDays must be between 7 and 30');
            if (k.state === 'PendingDeletion')
              return fail('KMSInvalidStateException', `${k.arn} is pending deletion.`);
            k.state = 'PendingDeletion';
            return reply(200, {
              KeyId: k.arn,
              KeyState: 'PendingDeletion',
              DeletionDate: Date.now() / 1000 + days * 86400,
              PendingWindowInDays: days,
            });
          }
          default:
            return fail('UnknownOperationException', '');
        }
      });
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `https://127.0.0.1:${port}`,
    region,
    caPem: pki.caPem,
    accessKeyId,
    secretAccessKey,
    account,
    requests,
    faults,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
