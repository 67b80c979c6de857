/**
 * AWS KMS tenant KMS over the KMS JSON 1.1 API, signed with SigV4 by hand (sigv4.ts; ADR 0008
 * says why not @aws-sdk/client-kms), sent with undici over HTTPS.
 *
 * Each tenant has a symmetric KMS key (SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT) reached through the
 * alias `alias/<aliasPrefix><tenant>`; the KEK never leaves KMS. Encrypt, Decrypt and
 * GenerateDataKey carry contextMap(ctx) as the encryption context, which KMS binds as AAD
 * (I-K17), and Decrypt names the tenant's key so a blob of another tenant's key is refused.
 * Crypto-shred disables the key, schedules its deletion (the minimum 7-day window AWS allows;
 * disabled, it can no longer decrypt) and deletes the alias.
 *
 * Wrapped format: aws-kms (wrap-format.ts).
 */
import { KisekiError } from '@kiseki/proto';
import { HttpsJson, isUnavailableStatus } from './https-json.ts';
import {
  assertTenantName,
  contextMap,
  DATA_KEY_BYTES,
  type DataKey,
  healthReport,
  type KmsCallOptions,
  type KmsHealth,
  type TenantKmsProvider,
  type WrapContext,
} from './provider.ts';
import { type AwsCredentials, signRequest } from './sigv4.ts';
import { decodeAwsWrapped, encodeAwsWrapped } from './wrap-format.ts';

export interface AwsKmsConfig {
  readonly region: string;
  /** Default https://kms.<region>.amazonaws.com */
  readonly endpoint?: string;
  readonly credentials: AwsCredentials;
  readonly aliasPrefix?: string;
  readonly caPem?: string;
  readonly allowPlainHttp?: boolean;
  readonly clock?: () => number;
}

/** Days before a shredded key's material is deleted; AWS allows 7 to 30. */
export const AWS_KEY_DELETION_WINDOW_DAYS = 7;

const SHRED_ERRORS = new Set(['NotFoundException', 'DisabledException', 'KMSInvalidStateException']);
const AUTH_ERRORS = new Set([
  'AccessDeniedException',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'IncompleteSignature',
  'MissingAuthenticationToken',
  'ExpiredTokenException',
]);
const CRYPTO_ERRORS = new Set(['InvalidCiphertextException', 'IncorrectKeyException']);
const UNAVAILABLE_ERRORS = new Set([
  'ThrottlingException',
  'KMSInternalException',
  'DependencyTimeoutException',
  'ServiceUnavailableException',
]);

class AwsError {
  constructor(
    readonly status: number,
    readonly type: string,
    readonly message: string,
  ) {}
}

export class AwsKms implements TenantKmsProvider {
  readonly kind = 'aws-kms' as const;
  readonly #http: HttpsJson;
  readonly #cfg: AwsKmsConfig;
  readonly #host: string;
  readonly #prefix: string;
  readonly #clock: () => number;

  constructor(cfg: AwsKmsConfig) {
    if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(cfg.region))
      throw new KisekiError('KISEKI_E_INVAL', `invalid AWS region '${cfg.region.slice(0, 40)}'`);
    this.#cfg = cfg;
    const url = cfg.endpoint ?? `https://kms.${cfg.region}.amazonaws.com`;
    this.#host = new URL(url).host;
    this.#prefix = cfg.aliasPrefix ?? 'kiseki-tenant-';
    this.#clock = cfg.clock ?? Date.now;
    this.#http = new HttpsJson('AWS KMS', { url, caPem: cfg.caPem, allowPlainHttp: cfg.allowPlainHttp });
  }

  #alias(tenant: string): string {
    assertTenantName(tenant);
    return `alias/${this.#prefix}${tenant}`;
  }

  /** One signed call; resolves with the JSON answer or an AwsError for an error answer. */
  async #call(action: string, payload: unknown, signal?: AbortSignal): Promise<Record<string, unknown>> {
    const body = JSON.stringify(payload);
    const headers = signRequest(
      {
        method: 'POST',
        host: this.#host,
        path: '/',
        region: this.#cfg.region,
        service: 'kms',
        headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `TrentService.${action}` },
        body,
        nowMs: this.#clock(),
      },
      this.#cfg.credentials,
    );
    delete headers.host; // undici sets Host from the origin; it was signed with the same value
    const r = await this.#http.request('POST', '/', { headers, body, signal });
    const json = (r.json ?? {}) as Record<string, unknown>;
    if (r.status === 200) return json;
    const rawType = String(json.__type ?? json.code ?? r.headers['x-amzn-errortype'] ?? '');
    const type = rawType.split('#').pop()!.split(':')[0]!;
    const message = String(json.message ?? json.Message ?? '').slice(0, 300);
    if (isUnavailableStatus(r.status) || UNAVAILABLE_ERRORS.has(type)) {
      throw new KisekiError(
        'KISEKI_E_UNAVAILABLE',
        `AWS KMS ${action} failed: ${type || `HTTP ${r.status}`}`,
      );
    }
    if (AUTH_ERRORS.has(type))
      throw new KisekiError('KISEKI_E_AUTH', `AWS KMS refused ${action}: ${type}: ${message}`);
    throw new AwsError(r.status, type, message);
  }

  async #op(action: string, payload: unknown, ctx: WrapContext | undefined, signal?: AbortSignal) {
    try {
      return await this.#call(action, payload, signal);
    } catch (err) {
      if (!(err instanceof AwsError)) throw err;
      if (ctx && SHRED_ERRORS.has(err.type)) {
        throw new KisekiError(
          'KISEKI_E_SHREDDED',
          `tenant ${ctx.tenant} KMS key is gone or disabled (${err.type}): it was shredded or never created`,
        );
      }
      if (ctx && CRYPTO_ERRORS.has(err.type)) {
        throw new KisekiError(
          'KISEKI_E_CRYPTO',
          `wrapped key does not open for tenant ${ctx.tenant} epoch ${ctx.epoch} (${err.type})`,
        );
      }
      throw new KisekiError('KISEKI_E_INVAL', `AWS KMS ${action} refused: ${err.type}: ${err.message}`);
    }
  }

  async #describe(
    tenant: string,
    signal?: AbortSignal,
  ): Promise<{ KeyId: string; KeyState?: string } | undefined> {
    try {
      const r = await this.#call('DescribeKey', { KeyId: this.#alias(tenant) }, signal);
      return r.KeyMetadata as { KeyId: string; KeyState?: string };
    } catch (err) {
      if (err instanceof AwsError && err.type === 'NotFoundException') return undefined;
      if (err instanceof AwsError)
        throw new KisekiError('KISEKI_E_INVAL', `AWS KMS DescribeKey refused: ${err.type}`);
      throw err;
    }
  }

  async ensureKek(tenant: string, opts?: KmsCallOptions): Promise<void> {
    if (await this.#describe(tenant, opts?.signal)) return;
    const created = await this.#op(
      'CreateKey',
      {
        KeySpec: 'SYMMETRIC_DEFAULT',
        KeyUsage: 'ENCRYPT_DECRYPT',
        Description: `kiseki tenant ${tenant} KEK`,
        Tags: [{ TagKey: 'kiseki:tenant', TagValue: tenant }],
      },
      undefined,
      opts?.signal,
    );
    const keyId = (created.KeyMetadata as { KeyId?: string } | undefined)?.KeyId;
    if (!keyId) throw new KisekiError('KISEKI_E_UNAVAILABLE', 'AWS KMS CreateKey returned no key id');
    try {
      await this.#call('CreateAlias', { AliasName: this.#alias(tenant), TargetKeyId: keyId }, opts?.signal);
    } catch (err) {
      // Another node won the race: retire our extra key, keep theirs.
      if (err instanceof AwsError && err.type === 'AlreadyExistsException') {
        await this.#call(
          'ScheduleKeyDeletion',
          { KeyId: keyId, PendingWindowInDays: AWS_KEY_DELETION_WINDOW_DAYS },
          opts?.signal,
        );
        return;
      }
      throw err instanceof AwsError
        ? new KisekiError('KISEKI_E_INVAL', `AWS KMS CreateAlias refused: ${err.type}`)
        : err;
    }
  }

  #key(b64: unknown): Buffer {
    if (typeof b64 !== 'string') throw new KisekiError('KISEKI_E_UNAVAILABLE', 'AWS KMS answer has no key');
    const key = Buffer.from(b64, 'base64');
    if (key.length !== DATA_KEY_BYTES) {
      key.fill(0);
      throw new KisekiError('KISEKI_E_CRYPTO', 'AWS KMS returned a key of the wrong length');
    }
    return key;
  }

  #blob(b64: unknown): Buffer {
    if (typeof b64 !== 'string' || b64.length === 0)
      throw new KisekiError('KISEKI_E_UNAVAILABLE', 'AWS KMS answer has no ciphertext');
    return encodeAwsWrapped(Buffer.from(b64, 'base64'));
  }

  async wrap(key: Uint8Array, ctx: WrapContext, opts?: KmsCallOptions): Promise<Uint8Array> {
    if (key.length !== DATA_KEY_BYTES)
      throw new KisekiError('KISEKI_E_INVAL', 'only 256-bit keys are wrapped');
    const r = await this.#op(
      'Encrypt',
      {
        KeyId: this.#alias(ctx.tenant),
        Plaintext: Buffer.from(key).toString('base64'),
        EncryptionContext: contextMap(ctx),
      },
      ctx,
      opts?.signal,
    );
    return this.#blob(r.CiphertextBlob);
  }

  async unwrap(wrapped: Uint8Array, ctx: WrapContext, opts?: KmsCallOptions): Promise<Uint8Array> {
    const blob = decodeAwsWrapped(wrapped);
    const r = await this.#op(
      'Decrypt',
      {
        KeyId: this.#alias(ctx.tenant),
        CiphertextBlob: blob.toString('base64'),
        EncryptionContext: contextMap(ctx),
      },
      ctx,
      opts?.signal,
    );
    return this.#key(r.Plaintext);
  }

  async generateDataKey(ctx: WrapContext, opts?: KmsCallOptions): Promise<DataKey> {
    const r = await this.#op(
      'GenerateDataKey',
      { KeyId: this.#alias(ctx.tenant), KeySpec: 'AES_256', EncryptionContext: contextMap(ctx) },
      ctx,
      opts?.signal,
    );
    const plaintext = this.#key(r.Plaintext);
    return { plaintext, wrapped: this.#blob(r.CiphertextBlob) };
  }

  async health(opts?: KmsCallOptions & { tenant?: string }): Promise<KmsHealth> {
    const done = healthReport(this.kind);
    try {
      if (opts?.tenant === undefined) {
        await this.#op('ListAliases', { Limit: 1 }, undefined, opts?.signal);
        return done(true, `AWS KMS ${this.#cfg.region} at ${this.#http.origin}: credentials accepted`);
      }
      const d = await this.#describe(opts.tenant, opts.signal);
      if (!d) return done(false, `tenant ${opts.tenant} has no KMS key alias`);
      if (d.KeyState !== 'Enabled') return done(false, `tenant ${opts.tenant} KMS key is ${d.KeyState}`);
      return done(true, `tenant ${opts.tenant} KMS key enabled`);
    } catch (err) {
      return done(false, (err as Error).message);
    }
  }

  async destroyKek(tenant: string, opts?: KmsCallOptions): Promise<void> {
    const d = await this.#describe(tenant, opts?.signal);
    if (!d) return;
    const ignoreState = (err: unknown) => {
      if (!(err instanceof AwsError && SHRED_ERRORS.has(err.type))) throw err;
    };
    await this.#call('DisableKey', { KeyId: d.KeyId }, opts?.signal).catch(ignoreState);
    await this.#call(
      'ScheduleKeyDeletion',
      { KeyId: d.KeyId, PendingWindowInDays: AWS_KEY_DELETION_WINDOW_DAYS },
      opts?.signal,
    ).catch(ignoreState);
    await this.#call('DeleteAlias', { AliasName: this.#alias(tenant) }, opts?.signal).catch(ignoreState);
  }

  close(): Promise<void> {
    return this.#http.close();
  }
}
