/**
 * KMIP tenant KMS: TTLV over mutually authenticated TLS, protocol version 2.0 — the newest that
 * PyKMIP's server speaks (it offers 2.0 and 1.4–1.0; KMIP 2.1 only adds operations we do not
 * use, see ADR 0008).
 *
 * Each tenant has an AES-256 symmetric key named `<namePrefix><tenant>` (Create + Activate,
 * usage mask Encrypt|Decrypt). Wrap and unwrap are the KMIP Encrypt and Decrypt operations with
 * AES-GCM, a client-chosen 96-bit IV and AAD = contextAad(ctx) (I-K17), run by the server: the
 * KEK never leaves it. Crypto-shred revokes (cessation of operation) and destroys every key of
 * that name.
 *
 * Wrapped format: kmip (wrap-format.ts). The uid names the server object that wrapped it; unwrap accepts it only if it is one of the
 * tenant's keys.
 */
import { randomBytes } from 'node:crypto';
import { connect, type TLSSocket } from 'node:tls';
import { KisekiError } from '@kiseki/proto';
import {
  assertTenantName,
  contextAad,
  DATA_KEY_BYTES,
  type DataKey,
  generateThenWrap,
  healthReport,
  type KmsCallOptions,
  type KmsHealth,
  type TenantKmsProvider,
  type WrapContext,
} from './provider.ts';
import {
  bytes,
  child,
  children,
  decodeTtlv,
  encodeTtlv,
  enumeration,
  int,
  struct,
  TTLV_MESSAGE_BYTES_MAX,
  type Ttlv,
  TtlvError,
  text,
} from './ttlv.ts';
import { decodeKmipWrapped, encodeKmipWrapped } from './wrap-format.ts';

export interface KmipConfig {
  readonly host: string;
  readonly port?: number;
  /** PEM CA that signed the server's certificate. */
  readonly caPem: string;
  /** PEM client certificate and key for mutual TLS. The key is a secret: never logged. */
  readonly clientCertPem: string;
  readonly clientKeyPem: string;
  readonly namePrefix?: string;
}

/** Tags (KMIP 2.0 §10). */
const T = {
  Attributes: 0x420125,
  AuthenticatedEncryptionAdditionalData: 0x4200fe,
  AuthenticatedEncryptionTag: 0x4200ff,
  BatchCount: 0x42000d,
  BatchItem: 0x42000f,
  BlockCipherMode: 0x420011,
  CryptographicAlgorithm: 0x420028,
  CryptographicLength: 0x42002a,
  CryptographicParameters: 0x42002b,
  CryptographicUsageMask: 0x42002c,
  Data: 0x4200c2,
  IvCounterNonce: 0x42003d,
  Name: 0x420053,
  NameType: 0x420054,
  NameValue: 0x420055,
  ObjectType: 0x420057,
  Operation: 0x42005c,
  ProtocolVersion: 0x420069,
  ProtocolVersionMajor: 0x42006a,
  ProtocolVersionMinor: 0x42006b,
  RequestHeader: 0x420077,
  RequestMessage: 0x420078,
  RequestPayload: 0x420079,
  ResponsePayload: 0x42007c,
  ResultMessage: 0x42007d,
  ResultReason: 0x42007e,
  ResultStatus: 0x42007f,
  RevocationReason: 0x420081,
  RevocationReasonCode: 0x420082,
  TagLength: 0x4200ce,
  UniqueIdentifier: 0x420094,
} as const;

const OP = {
  Create: 0x01,
  Locate: 0x08,
  Activate: 0x12,
  Revoke: 0x13,
  Destroy: 0x14,
  DiscoverVersions: 0x1e,
  Encrypt: 0x1f,
  Decrypt: 0x20,
} as const;
const REASON = {
  ItemNotFound: 0x01,
  PermissionDenied: 0x0c,
  AuthenticationNotSuccessful: 0x03,
  ObjectNotFound: 0x37,
} as const;
const AES = 3;
const GCM = 9;
const SYMMETRIC_KEY = 2;
const USAGE_ENCRYPT_DECRYPT = 0x04 | 0x08;
const CESSATION_OF_OPERATION = 6;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KMIP_VERSION = { major: 2, minor: 0 } as const;

class KmipFailure extends Error {
  constructor(
    readonly reason: number,
    readonly resultMessage: string,
  ) {
    super(`KMIP operation failed (reason 0x${reason.toString(16)}): ${resultMessage}`);
  }
}

/** One mutual-TLS connection carrying one request at a time. */
class KmipConnection {
  #socket: TLSSocket | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly cfg: KmipConfig) {}

  #connect(signal?: AbortSignal): Promise<TLSSocket> {
    if (this.#socket && !this.#socket.destroyed) return Promise.resolve(this.#socket);
    return new Promise((resolve, reject) => {
      const isIp = /^[\d.]+$|:/.test(this.cfg.host);
      const s = connect({
        host: this.cfg.host,
        port: this.cfg.port ?? 5696,
        ca: this.cfg.caPem,
        cert: this.cfg.clientCertPem,
        key: this.cfg.clientKeyPem,
        minVersion: 'TLSv1.2',
        servername: isIp ? undefined : this.cfg.host,
      });
      const onAbort = () => s.destroy();
      signal?.addEventListener('abort', onAbort, { once: true });
      s.once('secureConnect', () => {
        signal?.removeEventListener('abort', onAbort);
        s.removeAllListeners('error');
        s.on('error', () => s.destroy());
        this.#socket = s;
        resolve(s);
      });
      s.once('error', (err: NodeJS.ErrnoException) => {
        signal?.removeEventListener('abort', onAbort);
        reject(
          new KisekiError(
            'KISEKI_E_UNAVAILABLE',
            `KMIP server ${this.cfg.host}:${this.cfg.port ?? 5696} is unreachable (${err.code ?? err.name})`,
          ),
        );
      });
    });
  }

  request(msg: Buffer, signal?: AbortSignal): Promise<Buffer> {
    const next = this.#queue.then(() => this.#roundTrip(msg, signal));
    this.#queue = next.catch(() => {});
    return next;
  }

  async #roundTrip(msg: Buffer, signal?: AbortSignal): Promise<Buffer> {
    if (signal?.aborted) throw signal.reason;
    const s = await this.#connect(signal);
    return new Promise<Buffer>((resolve, reject) => {
      let got = Buffer.alloc(0);
      const finish = (err?: Error, reply?: Buffer) => {
        s.off('data', onData);
        s.off('close', onClose);
        signal?.removeEventListener('abort', onAbort);
        if (err) {
          // A reply may still be on its way: never let it be read as the next request's.
          s.destroy();
          this.#socket = undefined;
          reject(err);
        } else resolve(reply!);
      };
      const onData = (d: Buffer) => {
        got = Buffer.concat([got, d]);
        if (got.length < 8) return;
        const total = 8 + got.readUInt32BE(4);
        if (total > TTLV_MESSAGE_BYTES_MAX)
          return finish(new KisekiError('KISEKI_E_UNAVAILABLE', 'KMIP server sent an oversized message'));
        if (got.length >= total) {
          if (got.length > total)
            return finish(new KisekiError('KISEKI_E_UNAVAILABLE', 'KMIP server sent an unrequested message'));
          finish(undefined, got);
        }
      };
      const onClose = () =>
        finish(new KisekiError('KISEKI_E_UNAVAILABLE', 'KMIP server closed the connection'));
      const onAbort = () => finish(signal!.reason as Error);
      s.on('data', onData);
      s.once('close', onClose);
      signal?.addEventListener('abort', onAbort, { once: true });
      s.write(msg);
    });
  }

  close(): void {
    this.#socket?.destroy();
    this.#socket = undefined;
  }
}

export class KmipKms implements TenantKmsProvider {
  readonly kind = 'kmip' as const;
  readonly #conn: KmipConnection;
  readonly #prefix: string;
  /** The tenant's key uids as last located; dropped on shred and on "not found". */
  readonly #uids = new Map<string, string[]>();

  constructor(private readonly cfg: KmipConfig) {
    this.#conn = new KmipConnection(cfg);
    this.#prefix = cfg.namePrefix ?? 'kiseki-tenant-';
  }

  #name(tenant: string): string {
    assertTenantName(tenant);
    return `${this.#prefix}${tenant}`;
  }

  /** Sends one operation; returns its response payload or throws KmipFailure / KisekiError. */
  async #send(operation: number, payload: Ttlv[], signal?: AbortSignal): Promise<Ttlv | undefined> {
    const msg = struct(T.RequestMessage, [
      struct(T.RequestHeader, [
        struct(T.ProtocolVersion, [
          int(T.ProtocolVersionMajor, KMIP_VERSION.major),
          int(T.ProtocolVersionMinor, KMIP_VERSION.minor),
        ]),
        int(T.BatchCount, 1),
      ]),
      struct(T.BatchItem, [enumeration(T.Operation, operation), struct(T.RequestPayload, payload)]),
    ]);
    const raw = await this.#conn.request(encodeTtlv(msg), signal);
    let reply: Ttlv;
    try {
      reply = decodeTtlv(raw);
    } catch (err) {
      if (err instanceof TtlvError)
        throw new KisekiError('KISEKI_E_UNAVAILABLE', `KMIP server sent a malformed reply (${err.message})`);
      throw err;
    }
    const item = child(reply, T.BatchItem);
    const status = child(item, T.ResultStatus);
    if (!item || status?.type !== 'enumeration')
      throw new KisekiError('KISEKI_E_UNAVAILABLE', 'KMIP reply has no result');
    if (status.value !== 0) {
      const reason = child(item, T.ResultReason);
      const message = child(item, T.ResultMessage);
      throw new KmipFailure(
        reason?.type === 'enumeration' ? reason.value : 0,
        message?.type === 'text' ? message.value.slice(0, 200) : '',
      );
    }
    return child(item, T.ResponsePayload);
  }

  /** Maps a KMIP failure for `tenant` to our error registry. */
  #error(err: unknown, tenant: string, what: string): Error {
    if (!(err instanceof KmipFailure)) return err as Error;
    if (err.reason === REASON.ItemNotFound || err.reason === REASON.ObjectNotFound) {
      this.#uids.delete(tenant);
      return new KisekiError(
        'KISEKI_E_SHREDDED',
        `tenant ${tenant} has no KEK on the KMIP server: it was shredded or never created`,
      );
    }
    if (err.reason === REASON.AuthenticationNotSuccessful)
      return new KisekiError('KISEKI_E_AUTH', `KMIP server refused us: ${err.resultMessage}`);
    if (err.reason === REASON.PermissionDenied) {
      return new KisekiError(
        'KISEKI_E_SHREDDED',
        `KMIP server refused ${what} for tenant ${tenant}: ${err.resultMessage}`,
      );
    }
    return new KisekiError(
      'KISEKI_E_CRYPTO',
      `KMIP ${what} failed for tenant ${tenant}: ${err.resultMessage}`,
    );
  }

  #nameAttr(tenant: string): Ttlv {
    return struct(T.Name, [text(T.NameValue, this.#name(tenant)), enumeration(T.NameType, 1)]);
  }

  async #locate(tenant: string, signal?: AbortSignal, fresh = false): Promise<string[]> {
    const cached = this.#uids.get(tenant);
    if (cached && !fresh) return cached;
    const p = await this.#send(
      OP.Locate,
      [struct(T.Attributes, [enumeration(T.ObjectType, SYMMETRIC_KEY), this.#nameAttr(tenant)])],
      signal,
    );
    const uids = children(p, T.UniqueIdentifier).flatMap((u) => (u.type === 'text' ? [u.value] : []));
    if (uids.length > 0) this.#uids.set(tenant, uids);
    else this.#uids.delete(tenant);
    return uids;
  }

  async ensureKek(tenant: string, opts?: KmsCallOptions): Promise<void> {
    if ((await this.#locate(tenant, opts?.signal, true)).length > 0) return;
    const p = await this.#send(
      OP.Create,
      [
        enumeration(T.ObjectType, SYMMETRIC_KEY),
        struct(T.Attributes, [
          enumeration(T.CryptographicAlgorithm, AES),
          int(T.CryptographicLength, 256),
          int(T.CryptographicUsageMask, USAGE_ENCRYPT_DECRYPT),
          this.#nameAttr(tenant),
        ]),
      ],
      opts?.signal,
    );
    const uid = child(p, T.UniqueIdentifier);
    if (uid?.type !== 'text')
      throw new KisekiError('KISEKI_E_UNAVAILABLE', 'KMIP Create returned no unique identifier');
    await this.#send(OP.Activate, [text(T.UniqueIdentifier, uid.value)], opts?.signal);
    this.#uids.delete(tenant);
  }

  #params(): Ttlv {
    return struct(T.CryptographicParameters, [
      enumeration(T.BlockCipherMode, GCM),
      enumeration(T.CryptographicAlgorithm, AES),
      int(T.TagLength, TAG_BYTES),
    ]);
  }

  async wrap(key: Uint8Array, ctx: WrapContext, opts?: KmsCallOptions): Promise<Uint8Array> {
    if (key.length !== DATA_KEY_BYTES)
      throw new KisekiError('KISEKI_E_INVAL', 'only 256-bit keys are wrapped');
    try {
      const [uid] = await this.#locate(ctx.tenant, opts?.signal);
      if (uid === undefined) throw new KmipFailure(REASON.ItemNotFound, 'no key with the tenant name');
      const iv = randomBytes(IV_BYTES);
      const p = await this.#send(
        OP.Encrypt,
        [
          text(T.UniqueIdentifier, uid),
          this.#params(),
          bytes(T.Data, key),
          bytes(T.IvCounterNonce, iv),
          bytes(T.AuthenticatedEncryptionAdditionalData, contextAad(ctx)),
        ],
        opts?.signal,
      );
      const ct = child(p, T.Data);
      const tag = child(p, T.AuthenticatedEncryptionTag);
      if (
        ct?.type !== 'bytes' ||
        tag?.type !== 'bytes' ||
        ct.value.length !== DATA_KEY_BYTES ||
        tag.value.length !== TAG_BYTES
      ) {
        throw new KisekiError('KISEKI_E_UNAVAILABLE', 'KMIP Encrypt reply lacks ciphertext or tag');
      }
      return encodeKmipWrapped({ uid, iv, tag: tag.value, ciphertext: ct.value });
    } catch (err) {
      throw this.#error(err, ctx.tenant, 'encrypt');
    }
  }

  async unwrap(wrapped: Uint8Array, ctx: WrapContext, opts?: KmsCallOptions): Promise<Uint8Array> {
    const { uid, iv, tag, ciphertext } = decodeKmipWrapped(wrapped);
    try {
      let uids = await this.#locate(ctx.tenant, opts?.signal);
      if (!uids.includes(uid)) uids = await this.#locate(ctx.tenant, opts?.signal, true);
      if (uids.length === 0) throw new KmipFailure(REASON.ItemNotFound, 'no key with the tenant name');
      if (!uids.includes(uid)) {
        throw new KisekiError(
          'KISEKI_E_CRYPTO',
          `wrapped key was not made with a KEK of tenant ${ctx.tenant}`,
        );
      }
      const p = await this.#send(
        OP.Decrypt,
        [
          text(T.UniqueIdentifier, uid),
          this.#params(),
          bytes(T.Data, ciphertext),
          bytes(T.IvCounterNonce, iv),
          bytes(T.AuthenticatedEncryptionAdditionalData, contextAad(ctx)),
          bytes(T.AuthenticatedEncryptionTag, tag),
        ],
        opts?.signal,
      );
      const out = child(p, T.Data);
      if (out?.type !== 'bytes' || out.value.length !== DATA_KEY_BYTES) {
        throw new KisekiError('KISEKI_E_CRYPTO', 'KMIP Decrypt returned a key of the wrong length');
      }
      return out.value;
    } catch (err) {
      const e = this.#error(err, ctx.tenant, 'decrypt');
      if (e instanceof KisekiError && e.code === 'KISEKI_E_CRYPTO') {
        throw new KisekiError(
          'KISEKI_E_CRYPTO',
          `wrapped key does not open for tenant ${ctx.tenant} epoch ${ctx.epoch}`,
        );
      }
      throw e;
    }
  }

  generateDataKey(ctx: WrapContext, opts?: KmsCallOptions): Promise<DataKey> {
    return generateThenWrap(this, ctx, opts);
  }

  async health(opts?: KmsCallOptions & { tenant?: string }): Promise<KmsHealth> {
    const done = healthReport(this.kind);
    try {
      const p = await this.#send(OP.DiscoverVersions, [], opts?.signal);
      const versions = children(p, T.ProtocolVersion).map((v) => {
        const ma = child(v, T.ProtocolVersionMajor);
        const mi = child(v, T.ProtocolVersionMinor);
        return `${ma?.value}.${mi?.value}`;
      });
      if (opts?.tenant !== undefined && (await this.#locate(opts.tenant, opts.signal, true)).length === 0) {
        return done(false, `tenant ${opts.tenant} has no key on the KMIP server`);
      }
      return done(
        true,
        `KMIP server ${this.cfg.host}:${this.cfg.port ?? 5696}, protocol ${versions[0] ?? '?'} (offers ${versions.join(', ')})`,
      );
    } catch (err) {
      return done(false, (err as Error).message);
    }
  }

  async destroyKek(tenant: string, opts?: KmsCallOptions): Promise<void> {
    const uids = await this.#locate(tenant, opts?.signal, true);
    for (const uid of uids) {
      try {
        await this.#send(
          OP.Revoke,
          [
            text(T.UniqueIdentifier, uid),
            struct(T.RevocationReason, [enumeration(T.RevocationReasonCode, CESSATION_OF_OPERATION)]),
          ],
          opts?.signal,
        );
      } catch (err) {
        // Already revoked (a shred that stopped half-way): destroy it anyway.
        if (!(err instanceof KmipFailure)) throw err;
      }
      try {
        await this.#send(OP.Destroy, [text(T.UniqueIdentifier, uid)], opts?.signal);
      } catch (err) {
        if (
          !(
            err instanceof KmipFailure &&
            (err.reason === REASON.ItemNotFound || err.reason === REASON.ObjectNotFound)
          )
        ) {
          throw this.#error(err, tenant, 'destroy');
        }
      }
    }
    this.#uids.delete(tenant);
  }

  async close(): Promise<void> {
    this.#conn.close();
  }
}
