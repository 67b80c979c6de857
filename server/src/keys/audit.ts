/**
 * The tenant's key audit trail: every key operation on a tenant (KMS configured or migrated,
 * data key made, rotated, unwrapped on a cache miss, tenant shredded) appended to
 * `<keys dir>/tenants/<tenant>/audit.jsonl`, one JSON record per line, each carrying the SHA-256
 * of the previous record so a removed, reordered or edited line breaks the chain (`verifyAudit`).
 * Records name the operation, epoch, provider kind and actor; never a key, blob or credential
 * (I-K8). The trail outlives a shred: it is evidence, not key material.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { mkdir, open, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KisekiError } from '@kiseki/proto';
import { tenantKeyDir } from './epochs.ts';

export type AuditOp =
  | 'kms.configure'
  | 'kms.migrate'
  | 'key.create'
  | 'key.rotate'
  | 'key.unwrap'
  | 'tenant.shred';

export interface AuditEvent {
  readonly op: AuditOp;
  /** Who: 'kiseki-server' or 'admin' (the node-local CLI), with the OS user. */
  readonly actor: string;
  readonly epoch?: number;
  readonly kms?: string;
  readonly outcome: 'ok' | 'failed';
  /** Error code when it failed. */
  readonly code?: string;
}

export interface AuditRecord extends AuditEvent {
  readonly seq: number;
  readonly atMs: number;
  readonly prev: string;
  readonly hash: string;
}

const GENESIS = '0'.repeat(64);
const AUDIT_FILE = 'audit.jsonl';
const AUDIT_TAIL_BYTES = 16 * 1024;
const AUDIT_LOCK_STALE_MS = 10_000;
const AUDIT_LOCK_TRIES_MAX = 500;

function hashOf(r: Omit<AuditRecord, 'hash'>): string {
  const { seq, atMs, prev, op, actor, epoch, kms, outcome, code } = r;
  return createHash('sha256')
    .update(JSON.stringify([seq, atMs, prev, op, actor, epoch, kms, outcome, code]))
    .digest('hex');
}

function auditPath(keysDir: string, tenant: string): string {
  return join(tenantKeyDir(keysDir, tenant), AUDIT_FILE);
}

export function readAudit(keysDir: string, tenant: string): AuditRecord[] {
  const p = auditPath(keysDir, tenant);
  if (!existsSync(p)) return [];
  return readFileSync(p, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as AuditRecord);
}

/** The last record, from the file's tail only (records are far shorter than the window). */
function lastRecord(path: string): AuditRecord | undefined {
  if (!existsSync(path)) return undefined;
  const size = statSync(path).size;
  const n = Math.min(size, AUDIT_TAIL_BYTES);
  const buf = Buffer.alloc(n);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, buf, 0, n, size - n);
  } finally {
    closeSync(fd);
  }
  const lines = buf
    .toString('utf8')
    .split('\n')
    .filter((l) => l.length > 0);
  return lines.length ? (JSON.parse(lines.at(-1)!) as AuditRecord) : undefined;
}

/** Checks the chain; `brokenAt` is the first seq whose record or link does not hold. */
export function verifyAudit(records: readonly AuditRecord[]): { ok: boolean; brokenAt?: number } {
  let prev = GENESIS;
  for (const [i, r] of records.entries()) {
    const { hash, ...rest } = r;
    if (r.seq !== i + 1 || r.prev !== prev || hashOf(rest) !== hash) return { ok: false, brokenAt: i + 1 };
    prev = hash;
  }
  return { ok: true };
}

/** Appends one record. The server and the node-local CLI both write a tenant's trail, so the
 * read-last-then-append runs under a lock file (O_EXCL; one older than AUDIT_LOCK_STALE_MS is
 * taken over), and the line is fsynced before the lock is released. */
export async function appendAudit(
  keysDir: string,
  tenant: string,
  e: AuditEvent,
  nowMs = Date.now(),
): Promise<void> {
  const dir = tenantKeyDir(keysDir, tenant);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const lock = join(dir, 'audit.lock');
  for (let i = 0; ; i++) {
    try {
      await writeFile(lock, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      try {
        if (Date.now() - statSync(lock).mtimeMs > AUDIT_LOCK_STALE_MS) await unlink(lock);
      } catch {
        // gone meanwhile: try again
      }
      if (i >= AUDIT_LOCK_TRIES_MAX)
        throw new KisekiError('KISEKI_E_BUSY', `audit trail of tenant ${tenant} is locked`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  try {
    const path = auditPath(keysDir, tenant);
    const last = lastRecord(path);
    const body: Omit<AuditRecord, 'hash'> = {
      seq: (last?.seq ?? 0) + 1,
      atMs: nowMs,
      prev: last?.hash ?? GENESIS,
      ...e,
    };
    const fh = await open(path, 'a', 0o600);
    try {
      await fh.write(`${JSON.stringify({ ...body, hash: hashOf(body) })}\n`);
      await fh.datasync();
    } finally {
      await fh.close();
    }
  } finally {
    await unlink(lock).catch(() => {});
  }
}

/** Runs `fn` and records it, with its outcome, in the tenant's audit trail. */
export async function audited<T>(
  keysDir: string,
  tenant: string,
  e: Omit<AuditEvent, 'outcome' | 'code'>,
  fn: () => Promise<T>,
  epochOf?: (v: T) => number,
): Promise<T> {
  try {
    const v = await fn();
    await appendAudit(keysDir, tenant, { ...e, ...(epochOf ? { epoch: epochOf(v) } : {}), outcome: 'ok' });
    return v;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    await appendAudit(keysDir, tenant, {
      ...e,
      outcome: 'failed',
      code: typeof code === 'string' ? code : 'error',
    }).catch(() => {});
    throw err;
  }
}
