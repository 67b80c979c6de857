/**
 * AES-256-GCM sealing of chunks and payloads with node:crypto (OpenSSL, AES-NI). The framing
 * is defined in @kiseki/proto's envelope module; this file adds the keys.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import {
  CHUNK_HEADER_BYTES,
  CHUNK_PLAINTEXT_BYTES_MAX,
  chunkEnvelopeBytes,
  invariant,
  KisekiError,
  PAYLOAD_HEADER_BYTES,
  parseChunkEnvelope,
  parseSealedPayload,
  TAG_BYTES,
  writeChunkEnvelopeHeader,
  writeSealedPayloadHeader,
} from '@kiseki/proto';
import type { ChunkSealKeys } from './chunk-keys.ts';
import type { Keyring } from './keyring.ts';

export interface SealOptions {
  /** Fixed nonce, for golden test vectors only. */
  readonly nonce?: Uint8Array;
  readonly epoch?: number;
  readonly systemEpoch?: number;
  /** Write the envelope into this buffer (a pooled one) instead of a new one; it must be large enough. */
  readonly into?: Buffer;
}

/** Seals one chunk: the result is the chunk envelope v1 (header, ciphertext, tag). */
export function sealChunk(
  keys: ChunkSealKeys,
  chunkId: Uint8Array,
  plaintext: Uint8Array,
  opts: SealOptions = {},
): Buffer {
  if (plaintext.length > CHUNK_PLAINTEXT_BYTES_MAX)
    throw new KisekiError('KISEKI_E_TOOBIG', 'chunk too large');
  const epoch = opts.epoch ?? keys.currentEpoch;
  const nonce = opts.nonce ?? randomBytes(12);
  const bytes = chunkEnvelopeBytes(plaintext.length);
  invariant(!opts.into || opts.into.length >= bytes, 'envelope buffer large enough');
  const out = opts.into ? opts.into.subarray(0, bytes) : Buffer.allocUnsafe(bytes);
  writeChunkEnvelopeHeader(out, {
    tenantEpoch: epoch,
    systemEpoch: opts.systemEpoch ?? epoch,
    chunkId,
    nonce,
    plaintextBytes: plaintext.length,
  });
  const dek = keys.chunkDek(chunkId, epoch);
  const c = createCipheriv('aes-256-gcm', dek, nonce);
  c.setAAD(out.subarray(0, CHUNK_HEADER_BYTES));
  const ct = c.update(plaintext);
  c.final();
  invariant(ct.length === plaintext.length, 'GCM ciphertext length equals plaintext length');
  ct.copy(out, CHUNK_HEADER_BYTES);
  c.getAuthTag().copy(out, CHUNK_HEADER_BYTES + plaintext.length);
  dek.fill(0);
  return out;
}

/**
 * Opens a chunk envelope, checking that it is the chunk we asked for (the id is in the AAD, so
 * a server can't substitute another chunk: I-K17) and that the tag verifies (I-K7).
 */
export function openChunk(
  keys: ChunkSealKeys,
  expectedChunkId: Uint8Array,
  envelope: Uint8Array,
  into?: Buffer,
): Buffer {
  const h = parseChunkEnvelope(envelope);
  if (!Buffer.from(h.chunkId).equals(Buffer.from(expectedChunkId))) {
    throw new KisekiError('KISEKI_E_CORRUPT', 'chunk server returned a different chunk than requested');
  }
  const dek = keys.chunkDek(h.chunkId, h.tenantEpoch);
  let pt: Buffer;
  try {
    const d = createDecipheriv('aes-256-gcm', dek, h.nonce);
    d.setAAD(envelope.subarray(0, CHUNK_HEADER_BYTES));
    d.setAuthTag(envelope.subarray(CHUNK_HEADER_BYTES + h.plaintextBytes));
    pt = d.update(envelope.subarray(CHUNK_HEADER_BYTES, CHUNK_HEADER_BYTES + h.plaintextBytes));
    d.final();
  } catch (err) {
    throw new KisekiError(
      'KISEKI_E_CRYPTO',
      'chunk failed authentication: corrupted or sealed under other keys',
      {
        cause: err instanceof KisekiError ? err : undefined,
      },
    );
  } finally {
    dek.fill(0);
  }
  if (!into) return pt;
  // Only authenticated bytes reach the caller's buffer: the copy follows final().
  invariant(into.length >= pt.length, 'plaintext buffer large enough');
  pt.copy(into);
  return into.subarray(0, pt.length);
}

/** Seals a small tenant payload (names, symlink targets) bound to `context` (I-L7, I-K17). */
export function sealPayload(
  keys: Keyring,
  plaintext: Uint8Array,
  context: Uint8Array,
  opts: SealOptions = {},
): Buffer {
  const epoch = opts.epoch ?? keys.currentEpoch;
  const nonce = opts.nonce ?? randomBytes(12);
  const out = Buffer.allocUnsafe(PAYLOAD_HEADER_BYTES + plaintext.length + TAG_BYTES);
  writeSealedPayloadHeader(out, epoch, nonce);
  const c = createCipheriv('aes-256-gcm', keys.payloadKey(epoch), nonce);
  c.setAAD(Buffer.concat([out.subarray(0, PAYLOAD_HEADER_BYTES), context]));
  c.update(plaintext).copy(out, PAYLOAD_HEADER_BYTES);
  c.final();
  c.getAuthTag().copy(out, PAYLOAD_HEADER_BYTES + plaintext.length);
  return out;
}

export function openPayload(keys: Keyring, sealed: Uint8Array, context: Uint8Array): Buffer {
  const h = parseSealedPayload(sealed);
  try {
    const d = createDecipheriv('aes-256-gcm', keys.payloadKey(h.epoch), h.nonce);
    d.setAAD(Buffer.concat([sealed.subarray(0, PAYLOAD_HEADER_BYTES), context]));
    d.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    const pt = d.update(sealed.subarray(PAYLOAD_HEADER_BYTES, sealed.length - TAG_BYTES));
    d.final();
    return pt;
  } catch {
    throw new KisekiError('KISEKI_E_CRYPTO', 'sealed payload failed authentication');
  }
}

/** AAD context binding a sealed name to its directory entry: tenant, parent inode, name token. */
/** Binds a sealed XattrPayload to its tenant, inode and token (it can't be moved elsewhere). */
export function xattrContext(tenant: string, ino: number, nameToken: Uint8Array): Buffer {
  const p = Buffer.alloc(8);
  p.writeBigUInt64LE(BigInt(ino));
  return Buffer.concat([Buffer.from(`kiseki/v1/xattr\0${tenant}\0`), p, nameToken]);
}

export function entryContext(tenant: string, parent: number, nameToken: Uint8Array): Buffer {
  const p = Buffer.alloc(8);
  p.writeBigUInt64LE(BigInt(parent));
  return Buffer.concat([Buffer.from(`kiseki/v1/entry\0${tenant}\0`), p, nameToken]);
}
