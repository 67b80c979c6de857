/**
 * A tenant's KMS provider configuration: parsed from hostile JSON (unknown fields, wrong types,
 * oversized values are refused with KISEKI_E_INVAL naming the field, never its value), shown only
 * redacted, and turned into a provider wrapped in the shared resilience layer.
 *
 * Secrets in a config (Vault token or AppRole secret id, AWS secret key, PKCS#11 PIN, KMIP
 * client key) are credentials for the tenant's KMS, not key material; they are stored only in
 * the node's key directory (0600) and never logged or printed (I-K8).
 */
import { KisekiError } from '@kiseki/proto';
import { AwsKms } from './providers/aws-kms.ts';
import { InternalKms } from './providers/internal.ts';
import { type KmipConfig, KmipKms } from './providers/kmip.ts';
import { type Pkcs11Config, Pkcs11Kms } from './providers/pkcs11.ts';
import {
  type KmsLog,
  type ResilienceOptions,
  type ResilientProvider,
  resilient,
} from './providers/resilience.ts';
import { type VaultConfig, VaultKms } from './providers/vault.ts';

export interface ResilienceConfig {
  readonly timeoutMs?: number;
  readonly attemptsMax?: number;
  readonly breakerFailuresMax?: number;
  readonly breakerOpenMs?: number;
}

export type KmsConfig = { readonly resilience?: ResilienceConfig } & (
  | { readonly kind: 'internal' }
  | ({ readonly kind: 'vault' } & Omit<VaultConfig, 'clock' | 'allowPlainHttp'>)
  | ({ readonly kind: 'kmip' } & KmipConfig)
  | {
      readonly kind: 'aws-kms';
      readonly region: string;
      readonly endpoint?: string;
      readonly accessKeyId: string;
      readonly secretAccessKey: string;
      readonly sessionToken?: string;
      readonly aliasPrefix?: string;
      readonly caPem?: string;
    }
  | ({ readonly kind: 'pkcs11' } & Pkcs11Config)
);

export const KMS_CONFIG_BYTES_MAX = 64 * 1024;
const STRING_BYTES_MAX = 16 * 1024;
const SECRET_FIELDS = new Set([
  'token',
  'secretId',
  'secretAccessKey',
  'sessionToken',
  'pin',
  'clientKeyPem',
]);

type Obj = Record<string, unknown>;

function bad(field: string, what: string): never {
  throw new KisekiError('KISEKI_E_INVAL', `KMS config: ${field} ${what}`);
}

function obj(v: unknown, field: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) bad(field, 'must be an object');
  return v as Obj;
}

function only(o: Obj, field: string, allowed: string[]): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) bad(`${field}.${k}`, 'is not a known field');
}

function str(o: Obj, k: string, field: string, required: true): string;
function str(o: Obj, k: string, field: string, required?: false): string | undefined;
function str(o: Obj, k: string, field: string, required = false): string | undefined {
  const v = o[k];
  if (v === undefined) return required ? bad(`${field}.${k}`, 'is required') : undefined;
  if (typeof v !== 'string' || v.length === 0) bad(`${field}.${k}`, 'must be a non-empty string');
  if (v.length > STRING_BYTES_MAX) bad(`${field}.${k}`, 'is too long');
  return v;
}

function num(o: Obj, k: string, field: string, min: number, max: number): number | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    bad(`${field}.${k}`, `must be an integer in ${min}..${max}`);
  return v;
}

function url(v: string, field: string): string {
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    return bad(field, 'is not a URL');
  }
  if (u.protocol !== 'https:') bad(field, 'must be an https:// URL');
  if (u.username || u.password) bad(field, 'must not carry credentials');
  return v;
}

type VaultAuthConfig = Extract<KmsConfig, { kind: 'vault' }>['auth'];

function vaultAuth(a: Obj): VaultAuthConfig {
  if (a.method === 'token') {
    only(a, 'auth', ['method', 'token']);
    return { method: 'token', token: str(a, 'token', 'auth', true) };
  }
  if (a.method === 'approle') {
    only(a, 'auth', ['method', 'roleId', 'secretId', 'mount']);
    return {
      method: 'approle',
      roleId: str(a, 'roleId', 'auth', true),
      secretId: str(a, 'secretId', 'auth', true),
      mount: str(a, 'mount', 'auth'),
    };
  }
  return bad('auth.method', "must be 'token' or 'approle'");
}

function resilienceConfig(v: unknown): ResilienceConfig | undefined {
  if (v === undefined) return undefined;
  const o = obj(v, 'resilience');
  only(o, 'resilience', ['timeoutMs', 'attemptsMax', 'breakerFailuresMax', 'breakerOpenMs']);
  return {
    timeoutMs: num(o, 'timeoutMs', 'resilience', 10, 600_000),
    attemptsMax: num(o, 'attemptsMax', 'resilience', 1, 10),
    breakerFailuresMax: num(o, 'breakerFailuresMax', 'resilience', 1, 1000),
    breakerOpenMs: num(o, 'breakerOpenMs', 'resilience', 10, 3_600_000),
  };
}

/** Parses and validates a KMS config from JSON text or a parsed value. */
export function parseKmsConfig(input: string | unknown): KmsConfig {
  let v: unknown = input;
  if (typeof input === 'string') {
    if (input.length > KMS_CONFIG_BYTES_MAX) bad('file', 'is too large');
    try {
      v = JSON.parse(input);
    } catch {
      bad('file', 'is not valid JSON');
    }
  }
  const o = obj(v, 'config');
  const resilience = resilienceConfig(o.resilience);
  const kind = o.kind;
  const common = ['kind', 'resilience'];
  switch (kind) {
    case 'internal':
      only(o, 'config', common);
      return { kind, resilience };
    case 'vault': {
      only(o, 'config', [...common, 'url', 'mount', 'keyPrefix', 'namespace', 'caPem', 'auth']);
      const auth = vaultAuth(obj(o.auth, 'auth'));
      return {
        kind,
        resilience,
        url: url(str(o, 'url', 'config', true), 'url'),
        mount: str(o, 'mount', 'config'),
        keyPrefix: str(o, 'keyPrefix', 'config'),
        namespace: str(o, 'namespace', 'config'),
        caPem: str(o, 'caPem', 'config'),
        auth,
      };
    }
    case 'kmip':
      only(o, 'config', [...common, 'host', 'port', 'caPem', 'clientCertPem', 'clientKeyPem', 'namePrefix']);
      return {
        kind,
        resilience,
        host: str(o, 'host', 'config', true),
        port: num(o, 'port', 'config', 1, 65535),
        caPem: str(o, 'caPem', 'config', true),
        clientCertPem: str(o, 'clientCertPem', 'config', true),
        clientKeyPem: str(o, 'clientKeyPem', 'config', true),
        namePrefix: str(o, 'namePrefix', 'config'),
      };
    case 'aws-kms': {
      only(o, 'config', [
        ...common,
        'region',
        'endpoint',
        'accessKeyId',
        'secretAccessKey',
        'sessionToken',
        'aliasPrefix',
        'caPem',
      ]);
      const endpoint = str(o, 'endpoint', 'config');
      return {
        kind,
        resilience,
        region: str(o, 'region', 'config', true),
        endpoint: endpoint === undefined ? undefined : url(endpoint, 'endpoint'),
        accessKeyId: str(o, 'accessKeyId', 'config', true),
        secretAccessKey: str(o, 'secretAccessKey', 'config', true),
        sessionToken: str(o, 'sessionToken', 'config'),
        aliasPrefix: str(o, 'aliasPrefix', 'config'),
        caPem: str(o, 'caPem', 'config'),
      };
    }
    case 'pkcs11':
      only(o, 'config', [...common, 'library', 'tokenLabel', 'pin', 'labelPrefix']);
      return {
        kind,
        resilience,
        library: str(o, 'library', 'config', true),
        tokenLabel: str(o, 'tokenLabel', 'config', true),
        pin: str(o, 'pin', 'config', true),
        labelPrefix: str(o, 'labelPrefix', 'config'),
      };
    default:
      return bad('kind', "must be one of 'internal', 'vault', 'kmip', 'aws-kms', 'pkcs11'");
  }
}

/** The config with every secret replaced, for display and logs. */
export function redactKmsConfig(cfg: KmsConfig): Record<string, unknown> {
  const walk = (v: unknown): unknown => {
    if (typeof v !== 'object' || v === null) return v;
    return Object.fromEntries(
      Object.entries(v as Obj)
        .filter(([, x]) => x !== undefined)
        .map(([k, x]) => [
          k,
          SECRET_FIELDS.has(k)
            ? '<redacted>'
            : k.endsWith('Pem')
              ? `<PEM, ${String(x).length} chars>`
              : walk(x),
        ]),
    );
  };
  return walk(cfg) as Record<string, unknown>;
}

export interface CreateProviderOptions {
  /** Where the internal provider keeps its KEK files. */
  readonly internalDir: string;
  readonly log?: KmsLog;
  /** Overrides for tests (clocks, backoff); the config's own resilience block wins. */
  readonly resilience?: ResilienceOptions;
}

export function createKmsProvider(cfg: KmsConfig, o: CreateProviderOptions): ResilientProvider {
  const r: ResilienceOptions = { ...o.resilience, ...stripUndefined(cfg.resilience ?? {}), log: o.log };
  switch (cfg.kind) {
    case 'internal':
      return resilient(new InternalKms(o.internalDir), r);
    case 'vault':
      return resilient(new VaultKms(cfg), r);
    case 'kmip':
      return resilient(new KmipKms(cfg), r);
    case 'aws-kms':
      return resilient(
        new AwsKms({
          region: cfg.region,
          endpoint: cfg.endpoint,
          caPem: cfg.caPem,
          aliasPrefix: cfg.aliasPrefix,
          credentials: {
            accessKeyId: cfg.accessKeyId,
            secretAccessKey: cfg.secretAccessKey,
            sessionToken: cfg.sessionToken,
          },
        }),
        r,
      );
    case 'pkcs11':
      return resilient(new Pkcs11Kms(cfg), r);
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
