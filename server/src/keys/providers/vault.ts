/**
 * HashiCorp Vault transit engine tenant KMS, over HTTPS (undici), with token or AppRole auth.
 *
 * Each tenant has a transit key `<keyPrefix><tenant>` of type aes256-gcm96 created with
 * `derived: true`, so every encrypt, decrypt and datakey call takes a `context`: we pass
 * contextAad(ctx), and Vault derives a per-context key from the tenant KEK — a blob moved to
 * another tenant, epoch or chunk does not decrypt (I-K17). The KEK never leaves Vault
 * (`exportable: false`).
 *
 * Wrapped format: vault (wrap-format.ts).
 *
 * API used (Vault HTTP API, /v1 prefix): auth/<approle mount>/login, sys/health,
 * <mount>/keys/:name (POST create, GET read, POST :name/config, DELETE), <mount>/encrypt/:name,
 * <mount>/decrypt/:name, <mount>/datakey/plaintext/:name. The token travels in X-Vault-Token.
 */
import { KisekiError } from '@kiseki/proto';
import { HttpsJson, isUnavailableStatus, type JsonResponse } from './https-json.ts';
import {
  assertTenantName,
  contextAad,
  DATA_KEY_BYTES,
  type DataKey,
  healthReport,
  type KmsCallOptions,
  type KmsHealth,
  type TenantKmsProvider,
  type WrapContext,
} from './provider.ts';
import { decodeVaultWrapped, encodeVaultWrapped } from './wrap-format.ts';

export type VaultAuth =
  | { readonly method: 'token'; readonly token: string }
  | {
      readonly method: 'approle';
      readonly roleId: string;
      readonly secretId: string;
      readonly mount?: string;
    };

export interface VaultConfig {
  readonly url: string;
  readonly auth: VaultAuth;
  /** Transit mount path; default 'transit'. */
  readonly mount?: string;
  readonly keyPrefix?: string;
  readonly caPem?: string;
  /** Vault Enterprise namespace, sent as X-Vault-Namespace. */
  readonly namespace?: string;
  readonly allowPlainHttp?: boolean;
  readonly clock?: () => number;
}

/** Renew an AppRole token this long before its lease runs out. */
const TOKEN_RENEW_MARGIN_MS = 30_000;
const PATH_SEGMENT_RE = /^[A-Za-z0-9][A-Za-z0-9_./-]{0,127}$/;

function vaultErrors(r: JsonResponse): string {
  const e = (r.json as { errors?: unknown })?.errors;
  return Array.isArray(e)
    ? e
        .filter((x) => typeof x === 'string')
        .join('; ')
        .slice(0, 300)
    : '';
}

export class VaultKms implements TenantKmsProvider {
  readonly kind = 'vault' as const;
  readonly #http: HttpsJson;
  readonly #cfg: VaultConfig;
  readonly #mount: string;
  readonly #prefix: string;
  readonly #clock: () => number;
  #token: { value: string; expiresAtMs: number } | undefined;
  #login: Promise<string> | undefined;

  constructor(cfg: VaultConfig) {
    this.#cfg = cfg;
    this.#mount = cfg.mount ?? 'transit';
    this.#prefix = cfg.keyPrefix ?? 'kiseki-tenant-';
    this.#clock = cfg.clock ?? Date.now;
    for (const seg of [this.#mount, cfg.auth.method === 'approle' ? (cfg.auth.mount ?? 'approle') : 'x']) {
      if (!PATH_SEGMENT_RE.test(seg) || seg.includes('..')) {
        throw new KisekiError('KISEKI_E_INVAL', `invalid Vault mount path '${seg.slice(0, 40)}'`);
      }
    }
    this.#http = new HttpsJson('Vault', cfg);
    if (cfg.auth.method === 'token')
      this.#token = { value: cfg.auth.token, expiresAtMs: Number.POSITIVE_INFINITY };
  }

  #name(tenant: string): string {
    assertTenantName(tenant);
    return `${this.#prefix}${tenant}`;
  }

  async #currentToken(signal?: AbortSignal): Promise<string> {
    const t = this.#token;
    if (t && t.expiresAtMs - TOKEN_RENEW_MARGIN_MS > this.#clock()) return t.value;
    if (this.#cfg.auth.method === 'token') return this.#cfg.auth.token;
    this.#login ??= this.#appRoleLogin(signal).finally(() => {
      this.#login = undefined;
    });
    return this.#login;
  }

  async #appRoleLogin(signal?: AbortSignal): Promise<string> {
    const a = this.#cfg.auth as Extract<VaultAuth, { method: 'approle' }>;
    const r = await this.#http.request('POST', `/v1/auth/${a.mount ?? 'approle'}/login`, {
      headers: this.#baseHeaders(),
      body: JSON.stringify({ role_id: a.roleId, secret_id: a.secretId }),
      signal,
    });
    if (isUnavailableStatus(r.status)) throw this.#unavailable(r, 'AppRole login');
    const auth = (r.json as { auth?: { client_token?: unknown; lease_duration?: unknown } })?.auth;
    if (r.status !== 200 || typeof auth?.client_token !== 'string') {
      throw new KisekiError('KISEKI_E_AUTH', `Vault refused the AppRole login (HTTP ${r.status})`);
    }
    const leaseS =
      typeof auth.lease_duration === 'number' && auth.lease_duration > 0 ? auth.lease_duration : 3600;
    this.#token = { value: auth.client_token, expiresAtMs: this.#clock() + leaseS * 1000 };
    return auth.client_token;
  }

  #baseHeaders(): Record<string, string> {
    const h: Record<string, string> = { 'content-type': 'application/json' };
    if (this.#cfg.namespace) h['x-vault-namespace'] = this.#cfg.namespace;
    return h;
  }

  #unavailable(r: JsonResponse, what: string): KisekiError {
    return new KisekiError(
      'KISEKI_E_UNAVAILABLE',
      `Vault ${what} failed with HTTP ${r.status}: ${vaultErrors(r)}`,
    );
  }

  /** One authenticated call; on 403 with an AppRole token, logs in again once and retries. */
  async #call(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    body: unknown,
    signal?: AbortSignal,
  ): Promise<JsonResponse> {
    for (let round = 0; ; round++) {
      const token = await this.#currentToken(signal);
      const r = await this.#http.request(method, `/v1/${path}`, {
        headers: { ...this.#baseHeaders(), 'x-vault-token': token },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
      });
      if (r.status === 403 && round === 0 && this.#cfg.auth.method === 'approle') {
        this.#token = undefined;
        continue;
      }
      if (isUnavailableStatus(r.status))
        throw this.#unavailable(r, `${method} ${path.split('/')[1] ?? path}`);
      return r;
    }
  }

  async #keyExists(tenant: string, signal?: AbortSignal): Promise<boolean> {
    const r = await this.#call('GET', `${this.#mount}/keys/${this.#name(tenant)}`, undefined, signal);
    if (r.status === 200) return true;
    if (r.status === 404) return false;
    if (r.status === 403)
      throw new KisekiError('KISEKI_E_AUTH', 'Vault denied reading the tenant key (check the token policy)');
    throw new KisekiError('KISEKI_E_UNAVAILABLE', `Vault key read answered HTTP ${r.status}`);
  }

  /** Turns a refusal of encrypt/decrypt/datakey into the right error: a missing key is a shred. */
  async #refusal(r: JsonResponse, ctx: WrapContext, op: string, signal?: AbortSignal): Promise<KisekiError> {
    if (!(await this.#keyExists(ctx.tenant, signal))) {
      return new KisekiError(
        'KISEKI_E_SHREDDED',
        `tenant ${ctx.tenant} has no KEK in Vault: it was shredded or never created`,
      );
    }
    if (r.status === 403)
      return new KisekiError('KISEKI_E_AUTH', `Vault denied ${op} (check the token policy)`);
    return new KisekiError(
      'KISEKI_E_CRYPTO',
      `wrapped key does not open for tenant ${ctx.tenant} epoch ${ctx.epoch} (Vault ${op}: HTTP ${r.status})`,
    );
  }

  async ensureKek(tenant: string, opts?: KmsCallOptions): Promise<void> {
    if (await this.#keyExists(tenant, opts?.signal)) return;
    const r = await this.#call(
      'POST',
      `${this.#mount}/keys/${this.#name(tenant)}`,
      { type: 'aes256-gcm96', derived: true, exportable: false, allow_plaintext_backup: false },
      opts?.signal,
    );
    if (r.status !== 200 && r.status !== 204) {
      throw r.status === 403
        ? new KisekiError('KISEKI_E_AUTH', 'Vault denied creating the tenant key (check the token policy)')
        : new KisekiError('KISEKI_E_INVAL', `Vault refused to create the tenant key: ${vaultErrors(r)}`);
    }
  }

  async wrap(key: Uint8Array, ctx: WrapContext, opts?: KmsCallOptions): Promise<Uint8Array> {
    if (key.length !== DATA_KEY_BYTES)
      throw new KisekiError('KISEKI_E_INVAL', 'only 256-bit keys are wrapped');
    const r = await this.#call(
      'POST',
      `${this.#mount}/encrypt/${this.#name(ctx.tenant)}`,
      { plaintext: Buffer.from(key).toString('base64'), context: contextAad(ctx).toString('base64') },
      opts?.signal,
    );
    const ct = (r.json as { data?: { ciphertext?: unknown } })?.data?.ciphertext;
    if (r.status !== 200 || typeof ct !== 'string')
      throw await this.#refusal(r, ctx, 'encrypt', opts?.signal);
    return encodeVaultWrapped(ct);
  }

  #plaintext(r: JsonResponse): Buffer | undefined {
    const p = (r.json as { data?: { plaintext?: unknown } })?.data?.plaintext;
    if (r.status !== 200 || typeof p !== 'string') return undefined;
    const key = Buffer.from(p, 'base64');
    if (key.length !== DATA_KEY_BYTES) {
      key.fill(0);
      throw new KisekiError('KISEKI_E_CRYPTO', 'Vault returned a key of the wrong length');
    }
    return key;
  }

  async unwrap(wrapped: Uint8Array, ctx: WrapContext, opts?: KmsCallOptions): Promise<Uint8Array> {
    const ciphertext = decodeVaultWrapped(wrapped);
    const r = await this.#call(
      'POST',
      `${this.#mount}/decrypt/${this.#name(ctx.tenant)}`,
      { ciphertext, context: contextAad(ctx).toString('base64') },
      opts?.signal,
    );
    const key = this.#plaintext(r);
    if (!key) throw await this.#refusal(r, ctx, 'decrypt', opts?.signal);
    return key;
  }

  async generateDataKey(ctx: WrapContext, opts?: KmsCallOptions): Promise<DataKey> {
    const r = await this.#call(
      'POST',
      `${this.#mount}/datakey/plaintext/${this.#name(ctx.tenant)}`,
      { context: contextAad(ctx).toString('base64'), bits: 256 },
      opts?.signal,
    );
    const plaintext = this.#plaintext(r);
    const ct = (r.json as { data?: { ciphertext?: unknown } })?.data?.ciphertext;
    if (!plaintext || typeof ct !== 'string') throw await this.#refusal(r, ctx, 'datakey', opts?.signal);
    return { plaintext, wrapped: encodeVaultWrapped(ct) };
  }

  async health(opts?: KmsCallOptions & { tenant?: string }): Promise<KmsHealth> {
    const done = healthReport(this.kind);
    try {
      const r = await this.#http.request('GET', '/v1/sys/health', {
        headers: this.#baseHeaders(),
        signal: opts?.signal,
      });
      const h = r.json as { sealed?: boolean; version?: string } | undefined;
      if (r.status !== 200 && r.status !== 429)
        return done(
          false,
          `Vault at ${this.#http.origin} is not serving (HTTP ${r.status}${h?.sealed ? ', sealed' : ''})`,
        );
      if (opts?.tenant !== undefined && !(await this.#keyExists(opts.tenant, opts.signal))) {
        return done(false, `tenant ${opts.tenant} has no transit key in Vault`);
      }
      await this.#currentToken(opts?.signal);
      return done(
        true,
        `Vault ${h?.version ?? ''} at ${this.#http.origin}, transit mount '${this.#mount}'`.replace(
          '  ',
          ' ',
        ),
      );
    } catch (err) {
      return done(false, (err as Error).message);
    }
  }

  async destroyKek(tenant: string, opts?: KmsCallOptions): Promise<void> {
    const path = `${this.#mount}/keys/${this.#name(tenant)}`;
    if (!(await this.#keyExists(tenant, opts?.signal))) return;
    const c = await this.#call('POST', `${path}/config`, { deletion_allowed: true }, opts?.signal);
    if (c.status !== 200 && c.status !== 204) {
      throw new KisekiError(
        'KISEKI_E_AUTH',
        `Vault refused to allow deleting the tenant key (HTTP ${c.status})`,
      );
    }
    const d = await this.#call('DELETE', path, undefined, opts?.signal);
    if (d.status !== 204 && d.status !== 200 && d.status !== 404) {
      throw new KisekiError('KISEKI_E_AUTH', `Vault refused to delete the tenant key (HTTP ${d.status})`);
    }
  }

  close(): Promise<void> {
    return this.#http.close();
  }
}
