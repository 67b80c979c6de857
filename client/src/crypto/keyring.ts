/**
 * A tenant session's key material and everything derived from it. Unwrapped keys live only
 * here, in memory, for at most `cacheTtlMs` (the crypto-shred bound, I-K5); they are never
 * logged or serialised (I-K8): toJSON and inspect are overridden to say so.
 */
import { createHmac, hkdfSync } from 'node:crypto';
import { inspect } from 'node:util';
import { invariant, KisekiError } from '@kiseki/proto';
import {
  type ChunkKeyMaterial,
  ChunkKeys,
  type ChunkSealKeys,
  type DedupMode,
  wipeMaterial,
} from './chunk-keys.ts';

export type { DedupMode };

export interface EpochMaterial {
  readonly epoch: number;
  /** Tenant data key of this epoch (unwrapped from the tenant KEK by the tenant's KMS). */
  readonly tenantKey: Uint8Array;
  /** System share of every chunk DEK for this tenant and epoch. */
  readonly systemPart: Uint8Array;
}

interface DerivedEpoch {
  readonly payloadKey: Buffer;
}

function hkdf(ikm: Uint8Array, salt: Uint8Array | string, info: string, bytes = 32): Buffer {
  return Buffer.from(hkdfSync('sha256', ikm, salt, info, bytes));
}

export class Keyring implements ChunkSealKeys {
  readonly currentEpoch: number;
  readonly #epochs = new Map<number, DerivedEpoch>();
  /** Name tokens and dedup ids must stay stable across rotations, so they derive from the
   * tenant's first epoch key (the "index key"); rotating it is a re-index (issue 5). */
  readonly #nameKey: Buffer;
  readonly #xattrKey: Buffer;
  readonly #chunk: ChunkKeys;
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
    const chunkEpochs: Array<{ epoch: number; systemPart: Buffer; chunkTenantPart: Buffer }> = [];
    for (const e of epochs) {
      if (e.tenantKey.length !== 32 || e.systemPart.length !== 32) {
        throw new KisekiError('KISEKI_E_CRYPTO', 'key material of the wrong length');
      }
      this.#epochs.set(e.epoch, { payloadKey: hkdf(e.tenantKey, '', 'kiseki/v1/payload') });
      chunkEpochs.push({
        epoch: e.epoch,
        systemPart: Buffer.from(e.systemPart),
        chunkTenantPart: hkdf(e.tenantKey, '', 'kiseki/v1/chunk-tenant-part'),
      });
      if (!first || e.epoch < first.epoch) first = e;
    }
    if (!this.#epochs.has(currentEpoch))
      throw new KisekiError('KISEKI_E_CRYPTO', 'current epoch has no keys');
    this.currentEpoch = currentEpoch;
    this.#nameKey = hkdf(first!.tenantKey, '', 'kiseki/v1/name-token');
    this.#xattrKey = hkdf(first!.tenantKey, '', 'kiseki/v1/xattr-token');
    const material: ChunkKeyMaterial = {
      dedup,
      dedupKey: hkdf(first!.tenantKey, '', 'kiseki/v1/dedup'),
      currentEpoch,
      epochs: chunkEpochs,
    };
    this.#chunk = new ChunkKeys(material);
    wipeMaterial(material);
    this.#expiresAtMs = nowMs + cacheTtlMs;
  }

  get expiresAtMs(): number {
    return this.#expiresAtMs;
  }

  /** Chunk id by the tenant's dedup policy (I-X2). */
  chunkId(plaintext: Uint8Array): Buffer {
    return this.#chunk.chunkId(plaintext);
  }

  /** The chunk DEK needs both the system part and the tenant part (I-T4), salted by chunk id. */
  chunkDek(chunkId: Uint8Array, epoch: number): Buffer {
    return this.#chunk.chunkDek(chunkId, epoch);
  }

  /** A copy of the chunk keys for a chunk worker (see chunk-keys.ts). */
  chunkKeyMaterial(): ChunkKeyMaterial {
    return this.#chunk.material();
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
    for (const e of this.#epochs.values()) e.payloadKey.fill(0);
    this.#epochs.clear();
    this.#chunk.destroy();
    this.#nameKey.fill(0);
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
