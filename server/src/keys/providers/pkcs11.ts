/**
 * PKCS#11 tenant KMS (pkcs11js 2.1.7, a maintained N-API binding): one AES-256 KEK per tenant,
 * generated inside the token as a non-extractable, sensitive token object labelled
 * `<labelPrefix><tenant>`. Wrap and unwrap are C_Encrypt/C_Decrypt with CKM_AES_GCM inside the
 * token, AAD = contextAad(ctx) (I-K17): the KEK never leaves the token, only the 32-byte tenant
 * data key comes out of an unwrap (the key manager needs it to derive chunk DEKs).
 *
 * Wrapped format: pkcs11 (wrap-format.ts).
 *
 * One session, logged in as the user, operations serialized (a PKCS#11 session runs one
 * crypto operation at a time); C_EncryptAsync/C_DecryptAsync keep the token off the event loop.
 * A timeout in resilient() stops the caller waiting but cannot interrupt a call inside the
 * module: a hung token holds this provider's queue until the module returns.
 */
import { randomBytes } from 'node:crypto';
import { KisekiError } from '@kiseki/proto';
// Default import: the module's constants are set at run time, so Node's ESM named-export
// detection does not see them (a namespace import gives undefined constants outside vitest).
import pkcs11js from 'pkcs11js';
import {
  assertTenantName,
  contextAad,
  DATA_KEY_BYTES,
  type DataKey,
  generateThenWrap,
  healthReport,
  type KmsHealth,
  type TenantKmsProvider,
  type WrapContext,
} from './provider.ts';
import { decodePkcs11Wrapped, encodePkcs11Wrapped } from './wrap-format.ts';

export interface Pkcs11Config {
  /** Path of the PKCS#11 module, e.g. /usr/lib/softhsm/libsofthsm2.so. */
  readonly library: string;
  /** Label of the token to use (the first token with this label). */
  readonly tokenLabel: string;
  /** User PIN. A secret: never logged or printed. */
  readonly pin: string;
  readonly labelPrefix?: string;
}

const IV_BYTES = 12;
const TAG_BYTES = 16;

/** Result codes that mean "the token did not answer" rather than "the token said no". */
const UNAVAILABLE_CODES = new Set([
  pkcs11js.CKR_DEVICE_ERROR,
  pkcs11js.CKR_DEVICE_MEMORY,
  pkcs11js.CKR_DEVICE_REMOVED,
  pkcs11js.CKR_TOKEN_NOT_PRESENT,
  pkcs11js.CKR_SESSION_CLOSED,
  pkcs11js.CKR_SESSION_HANDLE_INVALID,
  pkcs11js.CKR_CRYPTOKI_NOT_INITIALIZED,
  pkcs11js.CKR_USER_NOT_LOGGED_IN,
  pkcs11js.CKR_FUNCTION_FAILED,
  pkcs11js.CKR_GENERAL_ERROR,
]);

export class Pkcs11Kms implements TenantKmsProvider {
  readonly kind = 'pkcs11' as const;
  readonly #cfg: Pkcs11Config;
  readonly #prefix: string;
  #lib: pkcs11js.PKCS11 | undefined;
  #session: pkcs11js.Handle | undefined;
  #slot: pkcs11js.Handle | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #initializedHere = false;

  constructor(cfg: Pkcs11Config) {
    this.#cfg = cfg;
    this.#prefix = cfg.labelPrefix ?? 'kiseki-tenant-';
  }

  /** Runs `fn` alone on the session, opening (or reopening) it first. */
  #run<T>(fn: (lib: pkcs11js.PKCS11, session: pkcs11js.Handle) => Promise<T> | T): Promise<T> {
    const next = this.#queue.then(async () => {
      try {
        const { lib, session } = this.#open();
        return await fn(lib, session);
      } catch (err) {
        throw this.#classify(err);
      }
    });
    this.#queue = next.catch(() => {});
    return next;
  }

  #open(): { lib: pkcs11js.PKCS11; session: pkcs11js.Handle } {
    if (this.#lib && this.#session) return { lib: this.#lib, session: this.#session };
    const lib = this.#lib ?? new pkcs11js.PKCS11();
    if (!this.#lib) {
      try {
        lib.load(this.#cfg.library);
      } catch {
        throw new KisekiError('KISEKI_E_UNAVAILABLE', `PKCS#11 module ${this.#cfg.library} does not load`);
      }
      try {
        lib.C_Initialize();
        this.#initializedHere = true;
      } catch (err) {
        // Another user of the same module in this process initialized it: share it.
        if ((err as pkcs11js.Pkcs11Error).code !== pkcs11js.CKR_CRYPTOKI_ALREADY_INITIALIZED) throw err;
      }
      this.#lib = lib;
    }
    const slot = lib
      .C_GetSlotList(true)
      .find((s) => lib.C_GetTokenInfo(s).label.trim() === this.#cfg.tokenLabel);
    if (slot === undefined) {
      throw new KisekiError('KISEKI_E_UNAVAILABLE', `PKCS#11 token '${this.#cfg.tokenLabel}' is not present`);
    }
    const session = lib.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
    try {
      lib.C_Login(session, pkcs11js.CKU_USER, this.#cfg.pin);
    } catch (err) {
      // Login state is per application and token: another session of ours may hold it.
      if ((err as pkcs11js.Pkcs11Error).code !== pkcs11js.CKR_USER_ALREADY_LOGGED_IN) {
        lib.C_CloseSession(session);
        throw new KisekiError('KISEKI_E_AUTH', `PKCS#11 token '${this.#cfg.tokenLabel}' refused the PIN`);
      }
    }
    this.#slot = slot;
    this.#session = session;
    return { lib, session };
  }

  #classify(err: unknown): Error {
    if (err instanceof KisekiError) return err;
    const code = (err as pkcs11js.Pkcs11Error).code;
    if (typeof code === 'number' && UNAVAILABLE_CODES.has(code)) {
      this.#session = undefined; // reopen on the next call
      return new KisekiError('KISEKI_E_UNAVAILABLE', `PKCS#11 token failed (${(err as Error).message})`);
    }
    if (typeof code === 'number') {
      return new KisekiError(
        'KISEKI_E_CRYPTO',
        `PKCS#11 token refused the operation (${(err as Error).message})`,
      );
    }
    return new KisekiError('KISEKI_E_UNAVAILABLE', `PKCS#11 call failed (${(err as Error).name})`);
  }

  #label(tenant: string): string {
    assertTenantName(tenant);
    return `${this.#prefix}${tenant}`;
  }

  #find(lib: pkcs11js.PKCS11, session: pkcs11js.Handle, tenant: string): pkcs11js.Handle[] {
    lib.C_FindObjectsInit(session, [
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
      { type: pkcs11js.CKA_LABEL, value: this.#label(tenant) },
    ]);
    try {
      return lib.C_FindObjects(session, 16);
    } finally {
      lib.C_FindObjectsFinal(session);
    }
  }

  #kek(lib: pkcs11js.PKCS11, session: pkcs11js.Handle, tenant: string): pkcs11js.Handle {
    const found = this.#find(lib, session, tenant);
    if (found.length === 0) {
      throw new KisekiError(
        'KISEKI_E_SHREDDED',
        `tenant ${tenant} has no KEK in the token: it was shredded or never created`,
      );
    }
    return found[0]!;
  }

  ensureKek(tenant: string): Promise<void> {
    return this.#run((lib, session) => {
      if (this.#find(lib, session, tenant).length > 0) return;
      lib.C_GenerateKey(session, { mechanism: pkcs11js.CKM_AES_KEY_GEN }, [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
        { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
        { type: pkcs11js.CKA_VALUE_LEN, value: 32 },
        { type: pkcs11js.CKA_LABEL, value: this.#label(tenant) },
        { type: pkcs11js.CKA_TOKEN, value: true },
        { type: pkcs11js.CKA_PRIVATE, value: true },
        { type: pkcs11js.CKA_SENSITIVE, value: true },
        { type: pkcs11js.CKA_EXTRACTABLE, value: false },
        { type: pkcs11js.CKA_ENCRYPT, value: true },
        { type: pkcs11js.CKA_DECRYPT, value: true },
        { type: pkcs11js.CKA_WRAP, value: false },
        { type: pkcs11js.CKA_UNWRAP, value: false },
      ]);
    });
  }

  #gcm(iv: Buffer, ctx: WrapContext): pkcs11js.Mechanism {
    const parameter: pkcs11js.AesGCM = {
      type: pkcs11js.CK_PARAMS_AES_GCM,
      iv,
      aad: contextAad(ctx),
      ivBits: IV_BYTES * 8,
      tagBits: TAG_BYTES * 8,
    };
    return { mechanism: pkcs11js.CKM_AES_GCM, parameter };
  }

  async wrap(key: Uint8Array, ctx: WrapContext): Promise<Uint8Array> {
    if (key.length !== DATA_KEY_BYTES)
      throw new KisekiError('KISEKI_E_INVAL', 'only 256-bit keys are wrapped');
    return this.#run(async (lib, session) => {
      const kek = this.#kek(lib, session, ctx.tenant);
      const iv = randomBytes(IV_BYTES);
      lib.C_EncryptInit(session, this.#gcm(iv, ctx), kek);
      const out = await lib.C_EncryptAsync(
        session,
        Buffer.from(key),
        Buffer.alloc(DATA_KEY_BYTES + TAG_BYTES),
      );
      if (out.length !== DATA_KEY_BYTES + TAG_BYTES) {
        throw new KisekiError('KISEKI_E_INTERNAL', `PKCS#11 GCM returned ${out.length} bytes`);
      }
      return encodePkcs11Wrapped({
        iv,
        ciphertext: out.subarray(0, DATA_KEY_BYTES),
        tag: out.subarray(DATA_KEY_BYTES),
      });
    });
  }

  async unwrap(wrapped: Uint8Array, ctx: WrapContext): Promise<Uint8Array> {
    const { iv, ciphertext, tag } = decodePkcs11Wrapped(wrapped);
    return this.#run(async (lib, session) => {
      const kek = this.#kek(lib, session, ctx.tenant);
      lib.C_DecryptInit(session, this.#gcm(Buffer.from(iv), ctx), kek);
      const ct = Buffer.concat([ciphertext, tag]);
      let out: Buffer;
      try {
        out = await lib.C_DecryptAsync(session, ct, Buffer.alloc(DATA_KEY_BYTES + TAG_BYTES));
      } catch (err) {
        // SoftHSM2 reports a GCM tag mismatch as CKR_GENERAL_ERROR, others as
        // CKR_ENCRYPTED_DATA_INVALID: either way the token answered and said no.
        const code = (err as pkcs11js.Pkcs11Error).code;
        if (
          code !== pkcs11js.CKR_GENERAL_ERROR &&
          code !== pkcs11js.CKR_FUNCTION_FAILED &&
          UNAVAILABLE_CODES.has(code)
        ) {
          throw err;
        }
        throw new KisekiError(
          'KISEKI_E_CRYPTO',
          `wrapped key does not open for tenant ${ctx.tenant} epoch ${ctx.epoch}`,
        );
      }
      if (out.length !== DATA_KEY_BYTES)
        throw new KisekiError('KISEKI_E_CRYPTO', 'PKCS#11 unwrap gave a key of the wrong length');
      return out;
    });
  }

  generateDataKey(ctx: WrapContext): Promise<DataKey> {
    return generateThenWrap(this, ctx);
  }

  async health(opts?: { tenant?: string }): Promise<KmsHealth> {
    const done = healthReport(this.kind);
    try {
      const detail = await this.#run((lib, session) => {
        const info = lib.C_GetTokenInfo(this.#slot!);
        lib.C_GetSessionInfo(session);
        if (opts?.tenant !== undefined) this.#kek(lib, session, opts.tenant);
        return `token '${info.label.trim()}' (${info.manufacturerID.trim()} ${info.model.trim()})${opts?.tenant ? `, tenant ${opts.tenant} KEK present` : ''}`;
      });
      return done(true, detail);
    } catch (err) {
      return done(false, (err as Error).message);
    }
  }

  destroyKek(tenant: string): Promise<void> {
    return this.#run((lib, session) => {
      for (const h of this.#find(lib, session, tenant)) lib.C_DestroyObject(session, h);
    });
  }

  async close(): Promise<void> {
    await this.#queue;
    const lib = this.#lib;
    if (!lib) return;
    try {
      if (this.#session) lib.C_CloseSession(this.#session);
      if (this.#initializedHere) lib.C_Finalize();
    } catch {
      // closing a token that is already gone is not an error
    }
    lib.close();
    this.#lib = undefined;
    this.#session = undefined;
  }
}
