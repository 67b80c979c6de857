/**
 * A tenant session's key material and everything derived from it. Unwrapped keys live only
 * here, in memory, for at most `cacheTtlMs` (the crypto-shred bound, I-K5); they are never
 * logged or serialised (I-K8): toJSON and inspect are overridden to say so.
 */
import { createHash, createHmac, hkdfSync } from 'node:crypto';
import { inspect } from 'node:util';
import { invariant, KisekiError } from '@kiseki/proto';

export type DedupMode = 'tenant' | 'global';

export interface EpochMaterial {
  readonly epoch: number;
  /** Tenant data key of this epoch (unwrapped from the tenant KEK by the tenant's KMS). */
  readonly tenantKey: Uint8Array;
  /** System share of every chunk DEK for this tenant and epoch. */
  readonly systemPart: Uint8Array;
}

interface DerivedEpoch {
  readonly chunkTenantPart: Buffer;
  readonly systemPart: Buffer;
  readonly payloadKey: Buffer;
}

function hkdf(ikm: Uint8Array, salt: Uint8Array | string, info: string, bytes = 32): Buffer {
  return Buffer.from(hkdfSync('sha256', ikm, salt, info, bytes));
}

export class Keyring {
  readonly currentEpoch: number;
  readonly #epochs = new Map<number, DerivedEpoch>();
  /** Name tokens and dedup ids must stay stable across rotations, so they derive from the
   * tenant's first epoch key (the "index key"); rotating it is a re-index (issue 5). */
  readonly #nameKey: Buffer;
  readonly #dedupKey: Buffer;
  readonly #xattrKey: Buffer;
  readonly #dedup: DedupMode;
  readonly #expiresAtMs: number;

  constructor(
    epochs: readonly EpochMaterial[],
    currentEpoch: number,
    dedup: DedupMode,
    cacheTtlMs: number,
    nowMs = Date.now(),
  ) {
    invariant(epochs.length > 0, 'a keyring holds at least one epoch');
    let first: EpochMaterial | undefined;
    for (const e of epochs) {
      if (e.tenantKey.length !== 32 || e.systemPart.length !== 32) {
        throw new KisekiError('KISEKI_E_CRYPTO', 'key material of the wrong length');
      }
      this.#epochs.set(e.epoch, {
        chunkTenantPart: hkdf(e.tenantKey, '', 'kiseki/v1/chunk-tenant-part'),
        systemPart: Buffer.from(e.systemPart),
        payloadKey: hkdf(e.tenantKey, '', 'kiseki/v1/payload'),
      });
      if (!first || e.epoch < first.epoch) first = e;
    }
    if (!this.#epochs.has(currentEpoch))
      throw new KisekiError('KISEKI_E_CRYPTO', 'current epoch has no keys');
    this.currentEpoch = currentEpoch;
    this.#nameKey = hkdf(first!.tenantKey, '', 'kiseki/v1/name-token');
    this.#dedupKey = hkdf(first!.tenantKey, '', 'kiseki/v1/dedup');
    this.#xattrKey = hkdf(first!.tenantKey, '', 'kiseki/v1/xattr-token');
    this.#dedup = dedup;
    this.#expiresAtMs = nowMs + cacheTtlMs;
  }

  get expiresAtMs(): number {
    return this.#expiresAtMs;
  }

  /** Chunk id by the tenant's dedup policy (I-X2). */
  chunkId(plaintext: Uint8Array): Buffer {
    return this.#dedup === 'global'
      ? createHash('sha256').update(plaintext).digest()
      : createHmac('sha256', this.#dedupKey).update(plaintext).digest();
  }

  /** The chunk DEK needs both the system part and the tenant part (I-T4), salted by chunk id. */
  chunkDek(chunkId: Uint8Array, epoch: number): Buffer {
    const e = this.#epoch(epoch);
    return hkdf(Buffer.concat([e.systemPart, e.chunkTenantPart]), chunkId, 'kiseki/v1/chunk-dek');
  }

  payloadKey(epoch: number): Buffer {
    return this.#epoch(epoch).payloadKey;
  }

  /** Deterministic, opaque token for a directory entry: HMAC(name key, parent || name). */
  nameToken(parent: number, name: string): Buffer {
    const p = Buffer.alloc(8);
    p.writeBigUInt64LE(BigInt(parent));
    return createHmac('sha256', this.#nameKey).update(p).update(name, 'utf8').digest();
  }

  /** Deterministic, opaque token for an extended attribute: HMAC(xattr key, ino || name). */
  xattrToken(ino: number, name: string): Buffer {
    const p = Buffer.alloc(8);
    p.writeBigUInt64LE(BigInt(ino));
    return createHmac('sha256', this.#xattrKey).update(p).update(name, 'utf8').digest();
  }

  /** Overwrites every key in memory; the keyring is unusable afterwards. */
  destroy(): void {
    for (const e of this.#epochs.values()) {
      e.chunkTenantPart.fill(0);
      e.systemPart.fill(0);
      e.payloadKey.fill(0);
    }
    this.#epochs.clear();
    this.#nameKey.fill(0);
    this.#dedupKey.fill(0);
    this.#xattrKey.fill(0);
  }

  #epoch(epoch: number): DerivedEpoch {
    const e = this.#epochs.get(epoch);
    if (!e)
      throw new KisekiError('KISEKI_E_CRYPTO', `no key for epoch ${epoch}: it was retired or never granted`);
    return e;
  }

  toJSON(): string {
    return '[Keyring: redacted]';
  }
  [inspect.custom](): string {
    return '[Keyring: redacted]';
  }
}
