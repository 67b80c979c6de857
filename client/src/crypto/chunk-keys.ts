/**
 * The part of a tenant keyring that chunk sealing needs: the dedup key (chunk ids, I-X2) and,
 * per epoch, the two shares of every chunk DEK (I-T4). A Keyring holds one; the chunk workers
 * (chunk-io.ts) get a copy as plain bytes, because a worker thread can't share the Keyring object.
 * The copy stays in this process's memory: it is never logged, written or sent (I-K8).
 */
import { createHash, createHmac, hkdfSync } from 'node:crypto';
import { inspect } from 'node:util';
import { KisekiError } from '@kiseki/proto';

export type DedupMode = 'tenant' | 'global';

/** Plain-data form of ChunkKeys, for postMessage to a worker (structured clone, same process). */
export interface ChunkKeyMaterial {
  readonly dedup: DedupMode;
  readonly dedupKey: Uint8Array;
  readonly currentEpoch: number;
  readonly epochs: ReadonlyArray<{
    readonly epoch: number;
    readonly systemPart: Uint8Array;
    readonly chunkTenantPart: Uint8Array;
  }>;
}

/** What sealChunk/openChunk need from a key holder. */
export interface ChunkSealKeys {
  readonly currentEpoch: number;
  chunkDek(chunkId: Uint8Array, epoch: number): Buffer;
}

export class ChunkKeys implements ChunkSealKeys {
  readonly currentEpoch: number;
  readonly #dedup: DedupMode;
  readonly #dedupKey: Buffer;
  /** Per epoch: systemPart || chunkTenantPart, the HKDF input of every chunk DEK. */
  readonly #ikm = new Map<number, Buffer>();

  constructor(m: ChunkKeyMaterial) {
    this.currentEpoch = m.currentEpoch;
    this.#dedup = m.dedup;
    this.#dedupKey = Buffer.from(m.dedupKey);
    for (const e of m.epochs) this.#ikm.set(e.epoch, Buffer.concat([e.systemPart, e.chunkTenantPart]));
  }

  /** Chunk id by the tenant's dedup policy (I-X2). */
  chunkId(plaintext: Uint8Array): Buffer {
    return this.#dedup === 'global'
      ? createHash('sha256').update(plaintext).digest()
      : createHmac('sha256', this.#dedupKey).update(plaintext).digest();
  }

  /** The chunk DEK needs both the system part and the tenant part (I-T4), salted by chunk id. */
  chunkDek(chunkId: Uint8Array, epoch: number): Buffer {
    const ikm = this.#ikm.get(epoch);
    if (!ikm)
      throw new KisekiError('KISEKI_E_CRYPTO', `no key for epoch ${epoch}: it was retired or never granted`);
    return Buffer.from(hkdfSync('sha256', ikm, chunkId, 'kiseki/v1/chunk-dek', 32));
  }

  /** A copy of the material (the caller must `destroy` what it builds from it). */
  material(): ChunkKeyMaterial {
    return {
      dedup: this.#dedup,
      dedupKey: Buffer.from(this.#dedupKey),
      currentEpoch: this.currentEpoch,
      epochs: [...this.#ikm].map(([epoch, ikm]) => ({
        epoch,
        systemPart: Buffer.from(ikm.subarray(0, 32)),
        chunkTenantPart: Buffer.from(ikm.subarray(32)),
      })),
    };
  }

  /** Overwrites the keys in memory; unusable afterwards. */
  destroy(): void {
    this.#dedupKey.fill(0);
    for (const k of this.#ikm.values()) k.fill(0);
    this.#ikm.clear();
  }

  toJSON(): string {
    return '[ChunkKeys: redacted]';
  }
  [inspect.custom](): string {
    return '[ChunkKeys: redacted]';
  }
}

/** Zeroes the byte arrays of a material copy once it has been handed over. */
export function wipeMaterial(m: ChunkKeyMaterial): void {
  m.dedupKey.fill(0);
  for (const e of m.epochs) {
    e.systemPart.fill(0);
    e.chunkTenantPart.fill(0);
  }
}
