/**
 * `kiseki kms configure|test|show` and the `--kms …` options of `kiseki tenant create`: builds a
 * tenant KMS config from options, files and environment, and hands it to the node-local
 * `kiseki-kms` tool on stdin, which proves it (KEK made or found, a data key round-trips) and
 * saves it in the node's key directory for the running kiseki-server to use.
 *
 * Secrets are never taken from argv (other users see it in `ps`): a Vault token, AppRole secret
 * id or PKCS#11 PIN comes from a file option or the environment (VAULT_TOKEN,
 * KISEKI_KMS_SECRET_ID, KISEKI_PKCS11_PIN), AWS credentials from AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN. Nothing here prints a secret.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KisekiError } from '@kiseki/proto';
import type { Command } from 'commander';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const KMS_TOOL_BIN = join(ROOT, 'server/bin/kiseki-kms');
const KMS_TOOL_TIMEOUT_MS = 120_000;

export interface KmsOptions {
  kms?: string;
  kmsConfig?: string;
  kmsUrl?: string;
  kmsMount?: string;
  kmsNamespace?: string;
  kmsTokenFile?: string;
  kmsRoleId?: string;
  kmsSecretIdFile?: string;
  kmsCaFile?: string;
  kmsRegion?: string;
  kmsEndpoint?: string;
  kmsHost?: string;
  kmsPort?: string;
  kmsCertFile?: string;
  kmsKeyFile?: string;
  kmsLibrary?: string;
  kmsTokenLabel?: string;
  kmsPinFile?: string;
}

/** Adds the `--kms …` options to a command. */
export function addKmsOptions(cmd: Command): Command {
  return cmd
    .option('--kms <kind>', 'tenant KMS provider: internal, vault, kmip, aws-kms or pkcs11')
    .option('--kms-config <file>', 'the whole provider config as a JSON file (instead of the options below)')
    .option('--kms-url <url>', 'vault: https:// address of Vault')
    .option('--kms-mount <path>', 'vault: transit mount path (default transit)')
    .option('--kms-namespace <ns>', 'vault: Vault Enterprise namespace')
    .option('--kms-token-file <file>', 'vault: file holding the token (or VAULT_TOKEN)')
    .option('--kms-role-id <id>', 'vault: AppRole role id (AppRole auth instead of a token)')
    .option(
      '--kms-secret-id-file <file>',
      'vault: file holding the AppRole secret id (or KISEKI_KMS_SECRET_ID)',
    )
    .option('--kms-ca-file <file>', 'vault, aws-kms, kmip: PEM CA to trust for the KMS')
    .option('--kms-region <region>', 'aws-kms: AWS region')
    .option('--kms-endpoint <url>', 'aws-kms: endpoint (default https://kms.<region>.amazonaws.com)')
    .option('--kms-host <host>', 'kmip: KMIP server host')
    .option('--kms-port <port>', 'kmip: KMIP server port (default 5696)')
    .option('--kms-cert-file <file>', 'kmip: PEM client certificate')
    .option('--kms-key-file <file>', 'kmip: PEM client private key')
    .option('--kms-library <path>', 'pkcs11: PKCS#11 module (.so)')
    .option('--kms-token-label <label>', 'pkcs11: token label')
    .option('--kms-pin-file <file>', 'pkcs11: file holding the user PIN (or KISEKI_PKCS11_PIN)');
}

function need<T>(v: T | undefined, what: string): T {
  if (v === undefined || v === '') throw new KisekiError('KISEKI_E_INVAL', `missing ${what}`);
  return v;
}

function fileText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (err) {
    throw new KisekiError(
      'KISEKI_E_NOENT',
      `cannot read the ${what} file ${path} (${(err as NodeJS.ErrnoException).code})`,
    );
  }
}

function secret(file: string | undefined, env: string, what: string, flag: string): string {
  if (file) return fileText(file, what);
  const v = process.env[env];
  if (v) return v.trim();
  throw new KisekiError('KISEKI_E_INVAL', `missing ${what}: give ${flag} FILE or set ${env}`);
}

/** The config object for the options given, or undefined when no --kms option was used. */
export function kmsConfigFromOptions(o: KmsOptions): Record<string, unknown> | undefined {
  if (o.kmsConfig) return JSON.parse(fileText(o.kmsConfig, 'KMS config')) as Record<string, unknown>;
  if (!o.kms) return undefined;
  const ca = o.kmsCaFile ? fileText(o.kmsCaFile, 'KMS CA') : undefined;
  switch (o.kms) {
    case 'internal':
      return { kind: 'internal' };
    case 'vault':
      return {
        kind: 'vault',
        url: need(o.kmsUrl, '--kms-url'),
        mount: o.kmsMount,
        namespace: o.kmsNamespace,
        caPem: ca,
        auth: o.kmsRoleId
          ? {
              method: 'approle',
              roleId: o.kmsRoleId,
              secretId: secret(
                o.kmsSecretIdFile,
                'KISEKI_KMS_SECRET_ID',
                'AppRole secret id',
                '--kms-secret-id-file',
              ),
            }
          : {
              method: 'token',
              token: secret(o.kmsTokenFile, 'VAULT_TOKEN', 'Vault token', '--kms-token-file'),
            },
      };
    case 'aws-kms':
      return {
        kind: 'aws-kms',
        region: need(o.kmsRegion ?? process.env.AWS_REGION, '--kms-region (or AWS_REGION)'),
        endpoint: o.kmsEndpoint,
        caPem: ca,
        accessKeyId: need(process.env.AWS_ACCESS_KEY_ID, 'AWS_ACCESS_KEY_ID in the environment'),
        secretAccessKey: need(process.env.AWS_SECRET_ACCESS_KEY, 'AWS_SECRET_ACCESS_KEY in the environment'),
        sessionToken: process.env.AWS_SESSION_TOKEN || undefined,
      };
    case 'kmip':
      return {
        kind: 'kmip',
        host: need(o.kmsHost, '--kms-host'),
        port: o.kmsPort === undefined ? undefined : Number(o.kmsPort),
        caPem: need(ca, '--kms-ca-file'),
        clientCertPem: fileText(need(o.kmsCertFile, '--kms-cert-file'), 'KMIP client certificate'),
        clientKeyPem: fileText(need(o.kmsKeyFile, '--kms-key-file'), 'KMIP client key'),
      };
    case 'pkcs11':
      return {
        kind: 'pkcs11',
        library: need(o.kmsLibrary, '--kms-library'),
        tokenLabel: need(o.kmsTokenLabel, '--kms-token-label'),
        pin: secret(o.kmsPinFile, 'KISEKI_PKCS11_PIN', 'PKCS#11 PIN', '--kms-pin-file'),
      };
    default:
      throw new KisekiError('KISEKI_E_INVAL', '--kms is internal, vault, kmip, aws-kms or pkcs11');
  }
}

/** Runs kiseki-kms; resolves with its JSON report, rejects with its error (code and message). */
export function runKmsTool(
  cmd: 'configure' | 'test' | 'show' | 'migrate' | 'rotate' | 'status' | 'shred' | 'audit',
  home: string,
  tenant: string,
  config?: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(KMS_TOOL_BIN, [cmd, '--home', home, '--tenant', tenant], {
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: KMS_TOOL_TIMEOUT_MS,
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.once('error', reject);
    child.once('close', (rc) => {
      const line = out.trim().split('\n').pop() ?? '';
      let report: Record<string, unknown> | undefined;
      try {
        report = line ? (JSON.parse(line) as Record<string, unknown>) : undefined;
      } catch {
        report = undefined;
      }
      if (rc === 0 && report) return resolvePromise(report);
      const m = /kiseki-kms: (KISEKI_E_[A-Z_]+): (.*)/.exec(err);
      if (m) return reject(new KisekiError(m[1] as 'KISEKI_E_INVAL', m[2]!));
      if (report?.error)
        return reject(new KisekiError('KISEKI_E_UNAVAILABLE', `KMS test failed: ${String(report.error)}`));
      reject(
        new KisekiError('KISEKI_E_INTERNAL', `kiseki-kms exited with ${rc}: ${err.trim().slice(0, 500)}`),
      );
    });
    child.stdin.end(config ? JSON.stringify(config) : '');
  });
}

/** One human line for a kiseki-kms report. */
export function formatKmsReport(r: Record<string, unknown>): string {
  const h = r.health as { ok?: boolean; detail?: string; latencyMs?: number } | undefined;
  const rt = typeof r.roundTripMs === 'number' ? `, data key round trip ${r.roundTripMs.toFixed(1)} ms` : '';
  return `tenant ${String(r.tenant)}: kms=${String(r.kind)} ${h?.ok ? 'ok' : 'FAILED'} (${h?.detail ?? ''}${rt})${r.error ? `: ${String(r.error)}` : ''}\n`;
}

/** The audit trail as lines: time, actor, operation, epoch, provider, outcome. */
export function formatAudit(r: Record<string, unknown>): string {
  const records = r.records as Array<{
    seq: number;
    atMs: number;
    actor: string;
    op: string;
    epoch?: number;
    kms?: string;
    outcome: string;
    code?: string;
  }>;
  const chain = r.chain as { ok: boolean; brokenAt?: number };
  const lines = records.map(
    (x) =>
      `${String(x.seq).padStart(5)} ${new Date(x.atMs).toISOString()} ${x.actor.padEnd(16)} ${x.op.padEnd(14)} ${x.epoch === undefined ? '-' : `epoch ${x.epoch}`} kms=${x.kms ?? '-'} ${x.outcome}${x.code ? ` ${x.code}` : ''}`,
  );
  lines.push(
    chain.ok
      ? `chain ok (${records.length} records)`
      : `CHAIN BROKEN at record ${chain.brokenAt}: the trail was altered`,
  );
  return `${lines.join('\n')}\n`;
}
