import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatKmsReport, kmsConfigFromOptions } from './kms.ts';

describe('kiseki --kms options', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiseki-cli-kms-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, body: string) => {
    const p = join(dir, name);
    writeFileSync(p, body);
    return p;
  };

  it('builds each provider config from options, files and the environment', () => {
    expect(kmsConfigFromOptions({})).toBeUndefined();
    expect(kmsConfigFromOptions({ kms: 'internal' })).toEqual({ kind: 'internal' });
    expect(
      kmsConfigFromOptions({ kms: 'vault', kmsUrl: 'https://v:8200', kmsTokenFile: file('t', 'hvs.tok\n') }),
    ).toMatchObject({
      kind: 'vault',
      auth: { method: 'token', token: 'hvs.tok' },
    });
    expect(
      kmsConfigFromOptions({
        kms: 'vault',
        kmsUrl: 'https://v:8200',
        kmsRoleId: 'r',
        kmsSecretIdFile: file('s', 'sid'),
      }),
    ).toMatchObject({ auth: { method: 'approle', roleId: 'r', secretId: 'sid' } });
    expect(
      kmsConfigFromOptions({
        kms: 'kmip',
        kmsHost: 'k',
        kmsPort: '5696',
        kmsCaFile: file('ca', 'CA'),
        kmsCertFile: file('c', 'C'),
        kmsKeyFile: file('k', 'K'),
      }),
    ).toEqual({ kind: 'kmip', host: 'k', port: 5696, caPem: 'CA', clientCertPem: 'C', clientKeyPem: 'K' });
    expect(kmsConfigFromOptions({ kmsConfig: file('all.json', '{"kind":"internal"}') })).toEqual({
      kind: 'internal',
    });
  });

  it('takes secrets only from files or the environment, and says which is missing', () => {
    const env = { ...process.env };
    try {
      delete process.env.VAULT_TOKEN;
      expect(() => kmsConfigFromOptions({ kms: 'vault', kmsUrl: 'https://v' })).toThrow(
        /--kms-token-file FILE or set VAULT_TOKEN/,
      );
      process.env.VAULT_TOKEN = 'from-env';
      expect(kmsConfigFromOptions({ kms: 'vault', kmsUrl: 'https://v' })).toMatchObject({
        auth: { token: 'from-env' },
      });
      delete process.env.AWS_SECRET_ACCESS_KEY;
      process.env.AWS_ACCESS_KEY_ID = 'AK';
      expect(() => kmsConfigFromOptions({ kms: 'aws-kms', kmsRegion: 'eu-west-1' })).toThrow(
        /AWS_SECRET_ACCESS_KEY/,
      );
      delete process.env.KISEKI_PKCS11_PIN;
      expect(() => kmsConfigFromOptions({ kms: 'pkcs11', kmsLibrary: '/l.so', kmsTokenLabel: 't' })).toThrow(
        /--kms-pin-file/,
      );
      expect(() => kmsConfigFromOptions({ kms: 'nope' })).toThrow(/--kms is internal, vault/);
    } finally {
      process.env = env;
    }
  });

  it('a report line names the provider and result, never a credential', () => {
    const line = formatKmsReport({
      tenant: 't',
      kind: 'vault',
      config: { auth: { token: '<redacted>' } },
      health: { ok: true, detail: 'Vault 1.15 at https://v' },
      roundTripMs: 1.25,
    });
    expect(line).toBe('tenant t: kms=vault ok (Vault 1.15 at https://v, data key round trip 1.3 ms)\n');
  });
});
