import { mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { parseKmsConfig, redactKmsConfig } from './kms-config.ts';
import { KeyManager } from './manager.ts';
import { KmsRegistry } from './registry.ts';

const vault = {
  kind: 'vault',
  url: 'https://vault.example:8200',
  auth: { method: 'approle', roleId: 'role-1', secretId: 'SECRET-ID-VALUE' },
  caPem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----',
};

describe('KMS config', () => {
  it('parses every kind and refuses unknown fields, wrong types and plain http, naming the field only', () => {
    expect(parseKmsConfig(JSON.stringify(vault))).toMatchObject({
      kind: 'vault',
      auth: { method: 'approle' },
    });
    expect(parseKmsConfig({ kind: 'internal' })).toEqual({ kind: 'internal', resilience: undefined });
    expect(parseKmsConfig({ kind: 'pkcs11', library: '/x.so', tokenLabel: 't', pin: '1234' }).kind).toBe(
      'pkcs11',
    );
    expect(
      parseKmsConfig({
        kind: 'aws-kms',
        region: 'eu-west-1',
        accessKeyId: 'AK',
        secretAccessKey: 'SK',
        resilience: { timeoutMs: 500 },
      }),
    ).toMatchObject({ resilience: { timeoutMs: 500 } });
    const bad: Array<[unknown, RegExp]> = [
      [{ ...vault, extra: 1 }, /config\.extra is not a known field/],
      [{ ...vault, url: 'http://vault:8200' }, /url must be an https/],
      [{ ...vault, url: 'https://user:pw@vault' }, /must not carry credentials/],
      [{ ...vault, auth: { method: 'token' } }, /auth\.token is required/],
      [
        { kind: 'kmip', host: 'h', caPem: 'x', clientCertPem: 'x', clientKeyPem: 'x', port: 70000 },
        /port must be an integer/,
      ],
      [{ kind: 'nope' }, /kind must be one of/],
      ['{not json', /not valid JSON/],
      [[1, 2], /must be an object/],
      [{ kind: 'internal', resilience: { attemptsMax: 99 } }, /attemptsMax/],
    ];
    for (const [input, re] of bad) expect(() => parseKmsConfig(input)).toThrow(re);
    const secret = { ...vault, auth: { method: 'token', token: 12345 } };
    expect(() => parseKmsConfig(secret)).toThrow(/auth\.token must be a non-empty string/);
  });

  it('never throws anything but KISEKI_E_INVAL on hostile input', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        try {
          parseKmsConfig(v);
        } catch (err) {
          expect((err as { code?: string }).code).toBe('KISEKI_E_INVAL');
        }
      }),
      { numRuns: 300 },
    );
  });

  it('I-K8: redaction hides every secret and PEM body', () => {
    const shown = JSON.stringify(
      redactKmsConfig(
        parseKmsConfig({
          kind: 'kmip',
          host: 'h',
          caPem: 'CA-PEM-BODY',
          clientCertPem: 'CERT-BODY',
          clientKeyPem: 'KEY-BODY',
        }),
      ),
    );
    expect(shown).not.toMatch(/KEY-BODY|CERT-BODY|CA-PEM-BODY/);
    expect(JSON.stringify(redactKmsConfig(parseKmsConfig(vault)))).not.toContain('SECRET-ID-VALUE');
    const aws = redactKmsConfig(
      parseKmsConfig({
        kind: 'aws-kms',
        region: 'eu-west-1',
        accessKeyId: 'AK',
        secretAccessKey: 'SK-VALUE',
        sessionToken: 'TOK',
      }),
    );
    expect(JSON.stringify(aws)).not.toMatch(/SK-VALUE|TOK/);
  });
});

describe('KMS registry', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const home = () => {
    const d = mkdtempSync(join(tmpdir(), 'kiseki-kmsreg-'));
    dirs.push(d);
    return d;
  };

  it('a tenant without config uses the internal provider; configure proves and saves 0600; providerFor reloads on change', async () => {
    const h = home();
    const reg = new KmsRegistry({ dir: join(h, 'keys'), internalDir: join(h, 'kms') });
    expect(reg.providerFor('t1').kind).toBe('internal');
    const report = await reg.configure('t1', { kind: 'internal' });
    expect(report).toMatchObject({ kind: 'internal', health: { ok: true } });
    expect(report.roundTripMs).toBeGreaterThan(0);
    const path = reg.configPath('t1');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const p1 = reg.providerFor('t1');
    expect(reg.providerFor('t1')).toBe(p1);
    writeFileSync(path, readFileSync(path));
    utimesSync(path, new Date(), new Date(Date.now() + 5_000));
    expect(reg.providerFor('t1')).not.toBe(p1);
    await reg.close();
  });

  it('refuses to move a tenant with wrapped keys to another provider kind, and saves nothing for a config that fails', async () => {
    const h = home();
    const reg = new KmsRegistry({
      dir: join(h, 'keys'),
      internalDir: join(h, 'kms'),
      resilience: { attemptsMax: 1 },
    });
    const km = await KeyManager.open({ dir: join(h, 'keys'), provider: (t) => reg.providerFor(t) });
    await km.createTenant('t2');
    expect(reg.existingKind('t2')).toBe('internal');
    const unreachable = parseKmsConfig({
      kind: 'vault',
      url: 'https://127.0.0.1:9',
      auth: { method: 'token', token: 't' },
    });
    await expect(reg.configure('t2', unreachable)).rejects.toMatchObject({
      code: 'KISEKI_E_EXIST',
      message: /provider migration/,
    });
    await expect(reg.configure('t3', unreachable)).rejects.toMatchObject({ code: 'KISEKI_E_UNAVAILABLE' });
    expect(() => statSync(reg.configPath('t3'))).toThrow();
    km.close();
    await reg.close();
  });
});
