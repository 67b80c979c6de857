/**
 * The control plane's tenant registry. A tenant's workload credential is a random secret shown
 * once at creation; only its SHA-256 is stored. (Single node: an lmdb store with durable
 * commits. The control Raft group replaces it in issue 3.)
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { isTenantId, KisekiError } from '@kiseki/proto';
import { open, type RootDatabase } from 'lmdb';

export type DedupMode = 'tenant' | 'global';

export interface TenantRecord {
  readonly name: string;
  readonly dedup: DedupMode;
  readonly createdAtMs: number;
  readonly credentialSha256: string;
  readonly kmsProvider: 'internal';
  readonly shard: string;
}

export const TENANTS_MAX = 10_000;

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

export class TenantRegistry {
  readonly #db: RootDatabase<TenantRecord, string>;

  private constructor(db: RootDatabase<TenantRecord, string>) {
    this.#db = db;
  }

  static open(dir: string): TenantRegistry {
    return new TenantRegistry(open({ path: dir, maxDbs: 2 }));
  }

  /** Creates a tenant; returns its credential (shown once). */
  async create(
    name: string,
    dedup: DedupMode = 'tenant',
  ): Promise<{ record: TenantRecord; credential: string }> {
    if (!isTenantId(name)) {
      throw new KisekiError(
        'KISEKI_E_INVAL',
        `invalid tenant name '${name}': use 1-63 characters of a-z, 0-9 and '-'`,
      );
    }
    if (this.get(name)) throw new KisekiError('KISEKI_E_EXIST', `tenant ${name} exists`);
    if (this.list().length >= TENANTS_MAX) throw new KisekiError('KISEKI_E_QUOTA', 'too many tenants');
    const credential = `ksk_${name}_${randomBytes(24).toString('base64url')}`;
    const record: TenantRecord = {
      name,
      dedup,
      createdAtMs: Date.now(),
      credentialSha256: sha256(credential),
      kmsProvider: 'internal',
      shard: `${name}.0`,
    };
    const ok = await this.#db.ifNoExists(name, () => this.#db.put(name, record));
    if (!ok) throw new KisekiError('KISEKI_E_EXIST', `tenant ${name} exists`);
    return { record, credential };
  }

  /** Undoes a create whose later steps failed (its keys could not be made): the name is free
   * again and its credential useless. */
  async abandon(name: string, credentialSha256: string): Promise<void> {
    const rec = this.get(name);
    if (rec && rec.credentialSha256 === credentialSha256) await this.#db.remove(name);
  }

  get(name: string): TenantRecord | undefined {
    return this.#db.get(name);
  }

  list(): TenantRecord[] {
    return [...this.#db.getRange({})].map((e) => e.value);
  }

  /** Checks a workload credential in constant time; the tenant on success. */
  authenticate(name: string, credential: string): TenantRecord {
    const rec = this.get(name);
    const want = Buffer.from(rec?.credentialSha256 ?? '0'.repeat(64), 'hex');
    const got = Buffer.from(sha256(credential), 'hex');
    if (!rec || !timingSafeEqual(want, got)) {
      throw new KisekiError('KISEKI_E_AUTH', 'unknown tenant or wrong credential');
    }
    return rec;
  }

  async close(): Promise<void> {
    await this.#db.close();
  }
}
