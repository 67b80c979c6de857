/**
 * Tenants on external KMS providers in a running kiseki-server: `kiseki tenant create --kms …`
 * and `kiseki kms test|show` against a Vault test server and a real SoftHSM2 token, data through
 * the SDK, KMS outage behaviour, and the I-K8 search of every log line and output for key bytes.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InternalKms } from '../../../server/src/keys/providers/internal.ts';
import { Pkcs11Kms } from '../../../server/src/keys/providers/pkcs11.ts';
import { VaultKms } from '../../../server/src/keys/providers/vault.ts';
import { makeTestPki } from '../../kms-servers/certs.ts';
import { createSoftHsmToken, type SoftHsmToken, softHsmAvailable } from '../../kms-servers/softhsm.ts';
import { startVaultTestServer, type VaultTestServer } from '../../kms-servers/vault.ts';
import { CLI_BIN, cleanup, type ServerHandle, sdk, startServer, tempDir } from '../harness.ts';

const run = promisify(execFile);

describe.skipIf(!softHsmAvailable())('tenant KMS providers in a running server', () => {
  let dir: string;
  let token: SoftHsmToken;
  let vault: VaultTestServer;
  let server: ServerHandle;
  const outputs: string[] = [];
  const secrets: Record<string, string> = {};

  const kiseki = async (...args: string[]) => {
    const r = await run(CLI_BIN, ['--home', server.home, ...args], { timeout: 120_000, env: process.env });
    outputs.push(r.stdout, r.stderr);
    return r.stdout;
  };

  const createOnVault = (t: string) => [
    ...['tenant', 'create', t, '--kms', 'vault', '--kms-url', vault.url],
    ...['--kms-token-file', join(dir, 'vault.token'), '--kms-ca-file', join(dir, 'ca.crt')],
  ];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kiseki-server-kms-'));
    token = createSoftHsmToken();
    process.env.SOFTHSM2_CONF = token.conf; // the server and kiseki-kms inherit it
    const pki = makeTestPki(dir);
    vault = await startVaultTestServer(pki);
    secrets.vaultToken = vault.kisekiToken;
    secrets.pin = token.pin;
    writeFileSync(join(dir, 'vault.token'), vault.kisekiToken, { mode: 0o600 });
    writeFileSync(join(dir, 'pin'), token.pin, { mode: 0o600 });
    const home = tempDir('kms-home');
    server = await startServer({
      home,
      deviceSizeBytes: 256 * 1024 ** 2,
      extraArgs: ['--log-level', 'debug'],
    });
    await kiseki(...createOnVault('alpha'));
    await kiseki(
      'tenant',
      'create',
      'beta',
      '--kms',
      'pkcs11',
      '--kms-library',
      token.library,
      '--kms-token-label',
      token.tokenLabel,
      '--kms-pin-file',
      join(dir, 'pin'),
    );
  });
  afterAll(async () => {
    await server?.stop();
    await vault?.close();
    token?.cleanup();
    if (server) cleanup(server.home);
    rmSync(dir, { recursive: true, force: true });
  });

  it('tenants on Vault and on PKCS#11 write and read through the SDK; their KEKs live in their KMS', async () => {
    for (const t of ['alpha', 'beta']) {
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
    expect(readFileSync(join(server.home, 'keys/tenants/beta/epoch-1.wrapped'))[5]).toBe(5); // pkcs11 frame
  });

  it('kiseki kms test and show work against the running node and print no secret', async () => {
    expect(await kiseki('kms', 'test', 'alpha')).toMatch(/tenant alpha: kms=vault ok .*data key round trip/);
    expect(await kiseki('kms', 'test', 'beta')).toMatch(/tenant beta: kms=pkcs11 ok .*token 'kiseki-test'/);
    const shown = await kiseki('kms', 'show', 'alpha');
    expect(shown).toContain('<redacted>');
    expect(shown).not.toContain(vault.kisekiToken);
    const cfg = join(server.home, 'keys/tenants/alpha/kms.json');
    expect(statSync(cfg).mode & 0o777).toBe(0o600);
  });

  it('a sealed Vault: creating a tenant on it fails with a clear KISEKI_E_UNAVAILABLE and leaves nothing behind; others go on', async () => {
    vault.faults.sealed = true;
    try {
      const err = await kiseki(...createOnVault('gamma')).then(
        () => undefined,
        (e: Error & { stderr?: string }) => e.stderr ?? e.message,
      );
      expect(err).toMatch(/kiseki: KMS for tenant gamma does not work: .*HTTP 503: Vault is sealed/);
      expect(() => statSync(join(server.home, 'keys/tenants/gamma/kms.json'))).toThrow();
      expect(await kiseki('tenant', 'list')).not.toContain('gamma');
      await expect(kiseki('kms', 'test', 'alpha')).rejects.toThrow(/sealed|503/);
      const b = await sdk(server, 'beta');
      expect((await b.fs.readFile('/beta.txt')).toString()).toBe('hello from beta');
      await b.close();
    } finally {
      vault.faults.sealed = false;
    }
    expect(await kiseki('kms', 'test', 'alpha')).toMatch(/kms=vault ok/);
    const a = await sdk(server, 'alpha');
    expect((await a.fs.readFile('/alpha.txt')).toString()).toBe('hello from alpha');
    await a.close();
  });

  it('I-K8: no tenant data key (hex or base64) and no KMS credential appears in the debug log, CLI output or config', async () => {
    const h = server.home;
    const unwrap = async (t: string, p: { unwrap: InternalKms['unwrap'] }) =>
      Buffer.from(
        await p.unwrap(readFileSync(join(h, `keys/tenants/${t}/epoch-1.wrapped`)), {
          tenant: t,
          epoch: 1,
          purpose: 'tenant-data-key',
        }),
      );
    const va = new VaultKms({
      url: vault.url,
      caPem: vault.caPem,
      auth: { method: 'token', token: vault.kisekiToken },
    });
    const hsm = new Pkcs11Kms({ library: token.library, tokenLabel: token.tokenLabel, pin: token.pin });
    const keys = [
      await unwrap('alpha', va),
      await unwrap('beta', hsm),
      await unwrap('default', new InternalKms(join(h, 'kms'))),
    ];
    await va.close();
    await hsm.close();
    const forms = (b: Buffer) => [
      b.toString('hex'),
      b.toString('hex').toUpperCase(),
      b.toString('base64'),
      b.toString('base64url'),
    ];
    const needles = [...keys.flatMap(forms), ...Object.values(secrets)];
    const configs = ['alpha', 'beta'].map((t) => readFileSync(join(h, `keys/tenants/${t}/kms.json`), 'utf8'));
    const log = server.log();
    expect(log).toMatch(/"level":20.*kms call ok/); // debug lines from the KMS layer were written
    const haystacks: Array<[string, string]> = [
      ['server log', log],
      ['CLI output', outputs.join('\n')],
      ...configs.map((c, i): [string, string] => [`kms.json ${i}`, c]),
    ];
    for (const [where, text] of haystacks) {
      for (const [i, n] of needles.entries()) {
        // Config files hold their own tenant's KMS credential by design; keys never.
        if (where.startsWith('kms.json') && i >= keys.length * 4) continue;
        expect(text.includes(n), `${where} contains needle ${i}`).toBe(false);
      }
    }
    // Nothing under the home's data (chunks, log, view) holds a tenant data key in the clear.
    const files = readdirSync(h, { recursive: true, withFileTypes: true }).filter((d) => d.isFile());
    for (const f of files) {
      const bytes = readFileSync(join(f.parentPath, f.name));
      for (const k of keys) expect(bytes.includes(k), `${f.name} holds a tenant data key`).toBe(false);
    }
  });
});
