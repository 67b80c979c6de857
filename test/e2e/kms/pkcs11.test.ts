/**
 * The PKCS#11 provider against a real SoftHSM2 token made by the test.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
// Default import: the module's constants are set at run time, so Node's ESM named-export
// detection does not see them (a namespace import gives undefined constants outside vitest).
import pkcs11js from 'pkcs11js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pkcs11Kms } from '../../../server/src/keys/providers/pkcs11.ts';
import type { WrapContext } from '../../../server/src/keys/providers/provider.ts';
import { createSoftHsmToken, type SoftHsmToken, softHsmAvailable } from '../../kms-servers/softhsm.ts';
import { providerContract } from './contract.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

describe.skipIf(!softHsmAvailable())('PKCS#11 provider on SoftHSM2', () => {
  let token: SoftHsmToken;
  let kms: Pkcs11Kms;
  beforeAll(() => {
    token = createSoftHsmToken();
    token.addToken('other');
    process.env.SOFTHSM2_CONF = token.conf;
    kms = new Pkcs11Kms({ library: token.library, tokenLabel: token.tokenLabel, pin: token.pin });
  });
  afterAll(async () => {
    await kms?.close();
    token?.cleanup();
  });

  providerContract(() => kms);

  /** A session of our own on the token, beside the provider's (the module is shared). */
  function rawSession(rw: boolean) {
    const lib = new pkcs11js.PKCS11();
    lib.load(token.library);
    try {
      lib.C_Initialize();
    } catch (err) {
      if ((err as pkcs11js.Pkcs11Error).code !== pkcs11js.CKR_CRYPTOKI_ALREADY_INITIALIZED) throw err;
    }
    const slot = lib
      .C_GetSlotList(true)
      .find((s) => lib.C_GetTokenInfo(s).label.trim() === token.tokenLabel)!;
    const flags = pkcs11js.CKF_SERIAL_SESSION | (rw ? pkcs11js.CKF_RW_SESSION : 0);
    return { lib, session: lib.C_OpenSession(slot, flags) };
  }

  it('I-K8: the KEK is a sensitive, never-extractable token object whose value the token refuses to give', async () => {
    await kms.ensureKek('c-a');
    const { lib, session } = rawSession(false);
    try {
      lib.C_FindObjectsInit(session, [{ type: pkcs11js.CKA_LABEL, value: 'kiseki-tenant-c-a' }]);
      const [h] = lib.C_FindObjects(session, 2);
      lib.C_FindObjectsFinal(session);
      expect(h).toBeDefined();
      const attrs = lib.C_GetAttributeValue(session, h!, [
        { type: pkcs11js.CKA_SENSITIVE },
        { type: pkcs11js.CKA_EXTRACTABLE },
        { type: pkcs11js.CKA_NEVER_EXTRACTABLE },
        { type: pkcs11js.CKA_TOKEN },
      ]);
      expect(attrs.map((a) => (a.value as Buffer)[0])).toEqual([1, 0, 1, 1]);
      expect(() => lib.C_GetAttributeValue(session, h!, [{ type: pkcs11js.CKA_VALUE }])).toThrow(/SENSITIVE/);
    } finally {
      lib.C_CloseSession(session);
    }
  });

  it('golden vector pkcs11-v2: the token opens the checked-in blob once the fixture KEK is imported', async () => {
    const f = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/kms/pkcs11-v2.json'), 'utf8'));
    const { lib, session } = rawSession(true);
    try {
      lib.C_CreateObject(session, [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
        { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
        { type: pkcs11js.CKA_LABEL, value: `kiseki-tenant-${f.context.tenant}` },
        { type: pkcs11js.CKA_VALUE, value: Buffer.from(f.kek, 'hex') },
        { type: pkcs11js.CKA_TOKEN, value: true },
        { type: pkcs11js.CKA_PRIVATE, value: true },
        { type: pkcs11js.CKA_SENSITIVE, value: true },
        { type: pkcs11js.CKA_EXTRACTABLE, value: false },
        { type: pkcs11js.CKA_ENCRYPT, value: true },
        { type: pkcs11js.CKA_DECRYPT, value: true },
      ]);
    } finally {
      lib.C_CloseSession(session);
    }
    const out = await kms.unwrap(Buffer.from(f.wrapped, 'hex'), f.context);
    expect(Buffer.from(out).toString('hex')).toBe(f.key);
  });

  it('a wrong PIN is KISEKI_E_AUTH, a missing token KISEKI_E_UNAVAILABLE', async () => {
    const bad = new Pkcs11Kms({ library: token.library, tokenLabel: 'other', pin: '0000' });
    const ctx: WrapContext = { tenant: 'hsm-a', epoch: 1, purpose: 'tenant-data-key' };
    await expect(bad.wrap(Buffer.alloc(32, 1), ctx)).rejects.toMatchObject({ code: 'KISEKI_E_AUTH' });
    await bad.close();
    const none = new Pkcs11Kms({ library: token.library, tokenLabel: 'no-such-token', pin: token.pin });
    await expect(none.wrap(Buffer.alloc(32, 1), ctx)).rejects.toMatchObject({ code: 'KISEKI_E_UNAVAILABLE' });
    await none.close();
  });

  it('I-K1: the token store on disk holds no tenant data key in the clear', async () => {
    const ctx: WrapContext = { tenant: 'hsm-disk', epoch: 1, purpose: 'tenant-data-key' };
    await kms.ensureKek(ctx.tenant);
    const dk = await kms.generateDataKey(ctx);
    const files = readdirSync(join(token.dir, 'tokens'), { recursive: true, withFileTypes: true }).filter(
      (d) => d.isFile(),
    );
    for (const f of files)
      expect(readFileSync(join(f.parentPath, f.name)).includes(dk.plaintext)).toBe(false);
  });
});
