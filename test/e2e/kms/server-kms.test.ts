/**
 * Tenants on external KMS providers in a running kiseki-server: `kiseki tenant create --kms …`
 * and `kiseki kms test|show` against the Vault and AWS KMS test servers, a real SoftHSM2 token
 * and a real PyKMIP server; data through the SDK; tenant isolation through the SDK and raw gRPC;
 * KMS outage behaviour; and the I-K8 search of every log line and output for key bytes.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Rpc } from '@kiseki/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsKms } from '../../../server/src/keys/providers/aws-kms.ts';
import { InternalKms } from '../../../server/src/keys/providers/internal.ts';
import { KmipKms } from '../../../server/src/keys/providers/kmip.ts';
import { Pkcs11Kms } from '../../../server/src/keys/providers/pkcs11.ts';
import type { TenantKmsProvider } from '../../../server/src/keys/providers/provider.ts';
import { VaultKms } from '../../../server/src/keys/providers/vault.ts';
import { wrappedKind } from '../../../server/src/keys/providers/wrap-format.ts';
import { type AwsKmsTestServer, startAwsKmsTestServer } from '../../kms-servers/aws-kms.ts';
import { makeTestPki, type TestPki } from '../../kms-servers/certs.ts';
import { type PyKmipServer, pyKmipAvailable, startPyKmip } from '../../kms-servers/pykmip.ts';
import { createSoftHsmToken, type SoftHsmToken, softHsmAvailable } from '../../kms-servers/softhsm.ts';
import { startVaultTestServer, type VaultTestServer } from '../../kms-servers/vault.ts';
import {
  CLI_BIN,
  caFile,
  cleanup,
  credentialFile,
  MOUNT_BIN,
  mountFs,
  type ServerHandle,
  sdk,
  startServer,
  tempDir,
} from '../harness.ts';

const run = promisify(execFile);
/** tenant → provider kind, one tenant per external provider. */
const TENANTS = { alpha: 'vault', beta: 'pkcs11', delta: 'aws-kms', epsilon: 'kmip' } as const;

describe.skipIf(!softHsmAvailable() || !pyKmipAvailable())('tenant KMS providers in a running server', () => {
  let dir: string;
  let pki: TestPki;
  let token: SoftHsmToken;
  let vault: VaultTestServer;
  let aws: AwsKmsTestServer;
  let kmip: PyKmipServer;
  let server: ServerHandle;
  const outputs: string[] = [];
  const secrets: string[] = [];

  const kiseki = async (args: string[], env: Record<string, string> = {}) => {
    const r = await run(CLI_BIN, ['--home', server.home, ...args], {
      timeout: 120_000,
      env: { ...process.env, ...env },
    });
    outputs.push(r.stdout, r.stderr);
    return r.stdout;
  };
  const awsEnv = () => ({ AWS_ACCESS_KEY_ID: aws.accessKeyId, AWS_SECRET_ACCESS_KEY: aws.secretAccessKey });
  const createArgs = (t: string, kind: string): string[] => {
    const base = ['tenant', 'create', t, '--kms', kind];
    switch (kind) {
      case 'vault':
        return [
          ...base,
          '--kms-url',
          vault.url,
          '--kms-token-file',
          join(dir, 'vault.token'),
          '--kms-ca-file',
          pki.caCert,
        ];
      case 'pkcs11':
        return [
          ...base,
          '--kms-library',
          token.library,
          '--kms-token-label',
          token.tokenLabel,
          '--kms-pin-file',
          join(dir, 'pin'),
        ];
      case 'aws-kms':
        return [
          ...base,
          '--kms-region',
          aws.region,
          '--kms-endpoint',
          aws.endpoint,
          '--kms-ca-file',
          pki.caCert,
        ];
      default:
        return [
          ...base,
          ...['--kms-host', kmip.host, '--kms-port', String(kmip.port), '--kms-ca-file', kmip.pki.caCert],
          ...['--kms-cert-file', kmip.pki.clientCert, '--kms-key-file', kmip.pki.clientKey],
        ];
    }
  };
  /** A provider in this process with the same credentials, to read what the server wrapped. */
  const providerFor = (kind: string): TenantKmsProvider => {
    switch (kind) {
      case 'vault':
        return new VaultKms({
          url: vault.url,
          caPem: vault.caPem,
          auth: { method: 'token', token: vault.kisekiToken },
        });
      case 'pkcs11':
        return new Pkcs11Kms({ library: token.library, tokenLabel: token.tokenLabel, pin: token.pin });
      case 'aws-kms':
        return new AwsKms({
          region: aws.region,
          endpoint: aws.endpoint,
          caPem: aws.caPem,
          credentials: { accessKeyId: aws.accessKeyId, secretAccessKey: aws.secretAccessKey },
        });
      case 'kmip':
        return new KmipKms({
          host: kmip.host,
          port: kmip.port,
          caPem: kmip.pki.caPem,
          clientCertPem: readFileSync(kmip.pki.clientCert, 'utf8'),
          clientKeyPem: readFileSync(kmip.pki.clientKey, 'utf8'),
        });
      default:
        return new InternalKms(join(server.home, 'kms'));
    }
  };
  const dataKey = async (t: string, kind: string, epoch = 1): Promise<Buffer> => {
    const p = providerFor(kind);
    try {
      const wrapped = readFileSync(join(server.home, `keys/tenants/${t}/epoch-${epoch}.wrapped`));
      return Buffer.from(await p.unwrap(wrapped, { tenant: t, epoch, purpose: 'tenant-data-key' }));
    } finally {
      await p.close();
    }
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kiseki-server-kms-'));
    token = createSoftHsmToken();
    process.env.SOFTHSM2_CONF = token.conf; // the server and kiseki-kms inherit it
    pki = makeTestPki(dir);
    [vault, aws, kmip] = await Promise.all([
      startVaultTestServer(pki),
      startAwsKmsTestServer(pki),
      startPyKmip(),
    ]);
    secrets.push(vault.kisekiToken, token.pin, aws.secretAccessKey);
    // One line of the KMIP client key's base64 body stands for the whole key.
    secrets.push(readFileSync(kmip.pki.clientKey, 'utf8').split('\n')[3]!);
    writeFileSync(join(dir, 'vault.token'), vault.kisekiToken, { mode: 0o600 });
    writeFileSync(join(dir, 'pin'), token.pin, { mode: 0o600 });
    server = await startServer({
      home: tempDir('kms-home'),
      deviceSizeBytes: 256 * 1024 ** 2,
      extraArgs: ['--log-level', 'trace'],
    });
    for (const [t, kind] of Object.entries(TENANTS))
      await kiseki(createArgs(t, kind), kind === 'aws-kms' ? awsEnv() : {});
  });
  afterAll(async () => {
    await server?.stop();
    await vault?.close();
    await aws?.close();
    await kmip?.stop();
    token?.cleanup();
    if (server) cleanup(server.home);
    rmSync(dir, { recursive: true, force: true });
  });

  it('tenants on Vault, PKCS#11, AWS KMS and KMIP write and read through the SDK; each KEK lives in its KMS', async () => {
    for (const t of Object.keys(TENANTS)) {
      const k = await sdk(server, t);
      try {
        await k.fs.writeFile(`/${t}.txt`, Buffer.from(`hello from ${t}`));
        expect((await k.fs.readFile(`/${t}.txt`)).toString()).toBe(`hello from ${t}`);
      } finally {
        await k.close();
      }
    }
    const alphaCalls = vault.requests.filter((r) => r.path.endsWith('/kiseki-tenant-alpha'));
    expect(alphaCalls.some((r) => r.path.startsWith('transit/datakey/'))).toBe(true);
    expect(alphaCalls.some((r) => r.path.startsWith('transit/decrypt/'))).toBe(true);
    expect(vault.requests.some((r) => r.path.includes('beta'))).toBe(false);
    expect(aws.requests.some((r) => r.action === 'Decrypt' && r.signature === 'ok')).toBe(true);
    const kinds = Object.keys(TENANTS).map(
      (t) => readFileSync(join(server.home, `keys/tenants/${t}/epoch-1.wrapped`))[5],
    );
    expect(kinds).toEqual([2, 5, 4, 3]); // the v2 frame names the provider that wrapped it
  });

  it('I-T1, I-T3: tenants on different providers see only their own keys and data, through the SDK, FUSE and raw gRPC', async () => {
    const keys = await Promise.all(Object.entries(TENANTS).map(([t, kind]) => dataKey(t, kind)));
    expect(new Set(keys.map((k) => k.toString('hex'))).size).toBe(keys.length);
    const rpc = new Rpc({ server: server.address, caCert: readFileSync(caFile(server.home)) });
    try {
      const alphaCred = readFileSync(credentialFile(server.home, 'alpha'), 'utf8').trim();
      await expect(rpc.openSession('beta', alphaCred, 'intruder')).rejects.toMatchObject({
        code: 'KISEKI_E_AUTH',
      });
      const s = await rpc.openSession('alpha', alphaCred, 'raw');
      const got = await rpc.call<object, { epochs: Array<{ epoch: number; tenantKey: Buffer }> }>(
        rpc.clients.key,
        'GetTenantKeys',
        {},
        { token: s.sessionToken },
      );
      expect(Buffer.from(got.epochs[0]!.tenantKey)).toEqual(keys[0]);
      for (const other of keys.slice(1))
        expect(Buffer.from(got.epochs[0]!.tenantKey).equals(other)).toBe(false);
    } finally {
      rpc.close();
    }
    // Through FUSE: alpha's mount shows alpha's file only; a mount of beta with alpha's
    // credential is refused and mounts nothing.
    const m = await mountFs(server, { tenant: 'alpha' });
    try {
      expect(readdirSync(m.mountpoint)).toEqual(['alpha.txt']);
      expect(readFileSync(join(m.mountpoint, 'alpha.txt'), 'utf8')).toBe('hello from alpha');
    } finally {
      await m.unmount();
    }
    const mnt = tempDir('mnt-intruder');
    const intruder = spawnSync(
      MOUNT_BIN,
      [
        server.address,
        mnt,
        '--tenant',
        'beta',
        '--ca',
        caFile(server.home),
        '--credential-file',
        credentialFile(server.home, 'alpha'),
      ],
      { timeout: 60_000, encoding: 'utf8' },
    );
    spawnSync('fusermount3', ['-u', '-q', mnt], { stdio: 'ignore' });
    expect(intruder.status).not.toBe(0);
    expect(intruder.stderr).toMatch(/KISEKI_E_AUTH|credential/);
    expect(readdirSync(mnt)).toEqual([]);
    cleanup(mnt);
    const a = await sdk(server, 'alpha');
    try {
      const names = (await a.fs.readdir('/')).map((e: { name: string } | string) =>
        typeof e === 'string' ? e : e.name,
      );
      expect(names).toContain('alpha.txt');
      for (const t of ['beta', 'delta', 'epsilon']) expect(names).not.toContain(`${t}.txt`);
      await expect(a.fs.readFile('/beta.txt')).rejects.toMatchObject({ code: 'KISEKI_E_NOENT' });
    } finally {
      await a.close();
    }
  });

  it('kiseki kms test and show work against the running node and print no secret', async () => {
    expect(await kiseki(['kms', 'test', 'alpha'])).toMatch(
      /tenant alpha: kms=vault ok .*data key round trip/,
    );
    expect(await kiseki(['kms', 'test', 'beta'])).toMatch(/tenant beta: kms=pkcs11 ok .*token 'kiseki-test'/);
    expect(await kiseki(['kms', 'test', 'delta'])).toMatch(/tenant delta: kms=aws-kms ok/);
    expect(await kiseki(['kms', 'test', 'epsilon'])).toMatch(/tenant epsilon: kms=kmip ok .*protocol 2\.0/);
    const shown = await kiseki(['kms', 'show', 'alpha']);
    expect(shown).toContain('<redacted>');
    expect(shown).not.toContain(vault.kisekiToken);
    expect(statSync(join(server.home, 'keys/tenants/alpha/kms.json')).mode & 0o777).toBe(0o600);
    const list = await kiseki(['tenant', 'list']);
    for (const [t, kind] of Object.entries(TENANTS)) expect(list).toMatch(new RegExp(`${t} .*kms=${kind} `));
  });

  it('a sealed Vault: creating a tenant on it fails with a clear KISEKI_E_UNAVAILABLE and leaves nothing behind; others go on', async () => {
    vault.faults.sealed = true;
    try {
      const err = await kiseki(createArgs('gamma', 'vault')).then(
        () => undefined,
        (e: Error & { stderr?: string }) => e.stderr ?? e.message,
      );
      expect(err).toMatch(/kiseki: KMS for tenant gamma does not work: .*HTTP 503: Vault is sealed/);
      expect(() => statSync(join(server.home, 'keys/tenants/gamma/kms.json'))).toThrow();
      expect(await kiseki(['tenant', 'list'])).not.toContain('gamma');
      await expect(kiseki(['kms', 'test', 'alpha'])).rejects.toThrow(/sealed|503/);
      const b = await sdk(server, 'beta');
      expect((await b.fs.readFile('/beta.txt')).toString()).toBe('hello from beta');
      await b.close();
    } finally {
      vault.faults.sealed = false;
    }
    expect(await kiseki(['kms', 'test', 'alpha'])).toMatch(/kms=vault ok/);
    const a = await sdk(server, 'alpha');
    expect((await a.fs.readFile('/alpha.txt')).toString()).toBe('hello from alpha');
    await a.close();
  });

  it('kiseki kms migrate moves a live tenant from the internal KMS to Vault; its data stays readable', async () => {
    await kiseki(['tenant', 'create', 'zeta']);
    const z = await sdk(server, 'zeta');
    try {
      await z.fs.writeFile('/zeta.txt', Buffer.from('hello from zeta'));
      const out = await kiseki(['kms', 'migrate', 'zeta', ...createArgs('zeta', 'vault').slice(3)]);
      expect(out).toMatch(/tenant zeta: moved from internal to vault; 1 epoch key\(s\) re-wrapped/);
      expect((await z.fs.readFile('/zeta.txt')).toString()).toBe('hello from zeta');
    } finally {
      await z.close();
    }
    const again = await sdk(server, 'zeta');
    expect((await again.fs.readFile('/zeta.txt')).toString()).toBe('hello from zeta');
    await again.close();
    expect(readFileSync(join(server.home, 'keys/tenants/zeta/epoch-1.wrapped'))[5]).toBe(2);
    expect(await kiseki(['tenant', 'list'])).toMatch(/zeta .*kms=vault /);
  });

  it('I-K6: kiseki key rotate adds a Vault-wrapped epoch; key status shows both; old data stays readable; cutover is refused', async () => {
    expect(await kiseki(['key', 'rotate', 'alpha'])).toMatch(
      /tenant alpha: epoch 2 is current for new writes/,
    );
    expect(await kiseki(['key', 'status', 'alpha'])).toMatch(
      /tenant alpha: kms=vault current epoch 2; epochs 1\(vault\) 2\(vault\)/,
    );
    const a = await sdk(server, 'alpha');
    try {
      expect((await a.fs.readFile('/alpha.txt')).toString()).toBe('hello from alpha');
    } finally {
      await a.close();
    }
    const trail = await kiseki(['audit', 'alpha']);
    for (const re of [
      /admin:\S+\s+kms\.configure .*kms=vault ok/,
      /kiseki-server\s+key\.create .*epoch 1 kms=vault ok/,
      /kiseki-server\s+key\.unwrap/,
      /admin:\S+\s+key\.rotate .*epoch 2 kms=vault ok/,
      /chain ok/,
    ]) {
      expect(trail).toMatch(re);
    }
    await expect(kiseki(['key', 'cutover', 'alpha', '2'])).rejects.toThrow(
      /not implemented yet: retiring an epoch needs its data re-encrypted/,
    );
  });

  it('I-K8: no tenant data key (hex or base64) and no KMS credential appears in the trace-level log, CLI output or config', async () => {
    const h = server.home;
    // Every epoch of every tenant on the node, each unwrapped by the provider its header names.
    const keys: Buffer[] = [];
    for (const t of readdirSync(join(h, 'keys/tenants'))) {
      for (const f of readdirSync(join(h, 'keys/tenants', t)).filter((x) => /^epoch-\d+\.wrapped$/.test(x))) {
        const kind = wrappedKind(readFileSync(join(h, 'keys/tenants', t, f)))!;
        keys.push(await dataKey(t, kind, Number(/\d+/.exec(f)![0])));
      }
    }
    expect(keys.length).toBeGreaterThanOrEqual(Object.keys(TENANTS).length + 1);
    const forms = (b: Buffer) => [
      b.toString('hex'),
      b.toString('hex').toUpperCase(),
      b.toString('base64'),
      b.toString('base64url'),
    ];
    const keyNeedles = keys.flatMap(forms);
    const log = server.log();
    expect(log).toMatch(/"level":20.*kms call ok/); // every level down to trace is on; the KMS layer logs at debug
    expect(log.length).toBeLessThan(1_000_000); // the harness keeps the last 1 MB: nothing was cut off
    const where: Array<[string, string, string[]]> = [
      ['server log', log, [...keyNeedles, ...secrets]],
      ['CLI output', outputs.join('\n'), [...keyNeedles, ...secrets]],
      // A tenant's kms.json holds its own KMS credential by design, never a key.
      ...Object.keys(TENANTS).map((t): [string, string, string[]] => [
        `${t}/kms.json`,
        readFileSync(join(h, `keys/tenants/${t}/kms.json`), 'utf8'),
        keyNeedles,
      ]),
    ];
    for (const [name, text, needles] of where) {
      for (const [i, n] of needles.entries())
        expect(text.includes(n), `${name} contains needle ${i}`).toBe(false);
    }
    // Nothing under the home (chunks, device, log, view, configs) holds a tenant data key in the clear.
    for (const f of readdirSync(h, { recursive: true, withFileTypes: true }).filter((d) => d.isFile())) {
      const bytes = readFileSync(join(f.parentPath, f.name));
      for (const k of keys) expect(bytes.includes(k), `${f.name} holds a tenant data key`).toBe(false);
    }
  });
});
