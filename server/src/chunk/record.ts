/**
 * The chunk index: key and record formats, as stored in the chunk store's lmdb `index` database.
 * Pure codecs, no I/O.
 *
 * Key: tenant (ASCII, [a-z0-9-]) + '/' (0x2f) + the 32 raw chunk id bytes. '/' cannot occur in a
 * tenant, so a tenant's chunks are exactly the keys in [tenant + '/', tenant + '0').
 *
 * Record, format version 1, little-endian, 48 bytes:
 *
 *   off len field
 *     0   1 version          u8 = 1
 *     1   3 reserved         zero
 *     4   4 length_bytes     u32, envelope length (not padded)
 *     8   8 offset_bytes     u64, device byte offset of the extent (block aligned, I-C7)
 *    16   4 crc32c           CRC-32C of the envelope bytes
 *    20   4 reserved         zero
 *    24   8 created_at_ms    u64
 *    32   8 last_touched_ms  u64, last `has`/`put` that found the chunk (flushed lazily)
 *    40   4 reserved         zero
 *    44   4 record_crc32c    CRC-32C of bytes [0, 44)
 *
 * The record is checked before it is written (assert) and after it is read (CORRUPT).
 * A change to this layout is a new version and a new golden fixture (record.test.ts).
 */
import { crc32c } from '@kiseki/native';
import { type ChunkIdHex, invariant, KisekiError, type TenantId } from '@kiseki/proto';

export const INDEX_RECORD_VERSION = 1;
export const INDEX_RECORD_BYTES = 48;
const RECORD_CRC_AT = 44;
const SEP = 0x2f;

export interface IndexRecord {
  readonly offsetBytes: number;
  readonly lengthBytes: number;
  readonly crc32c: number;
  readonly createdAtMs: number;
  readonly lastTouchedMs: number;
}

export function encodeIndexRecord(r: IndexRecord): Buffer {
  invariant(Number.isSafeInteger(r.offsetBytes) && r.offsetBytes >= 0, 'record offset');
  invariant(
    Number.isInteger(r.lengthBytes) && r.lengthBytes > 0 && r.lengthBytes <= 0xffffffff,
    'record length',
  );
  invariant(Number.isInteger(r.crc32c) && r.crc32c >= 0 && r.crc32c <= 0xffffffff, 'record crc');
  invariant(Number.isSafeInteger(r.createdAtMs) && r.createdAtMs >= 0, 'record created_at_ms');
  invariant(Number.isSafeInteger(r.lastTouchedMs) && r.lastTouchedMs >= 0, 'record last_touched_ms');
  const b = Buffer.alloc(INDEX_RECORD_BYTES);
  b.writeUInt8(INDEX_RECORD_VERSION, 0);
  b.writeUInt32LE(r.lengthBytes, 4);
  b.writeBigUInt64LE(BigInt(r.offsetBytes), 8);
  b.writeUInt32LE(r.crc32c, 16);
  b.writeBigUInt64LE(BigInt(r.createdAtMs), 24);
  b.writeBigUInt64LE(BigInt(r.lastTouchedMs), 32);
  b.writeUInt32LE(crc32c(b.subarray(0, RECORD_CRC_AT)), RECORD_CRC_AT);
  return b;
}

/** Decodes a stored record; a damaged one is KISEKI_E_CORRUPT (`what` names it in the message). */
export function decodeIndexRecord(b: Uint8Array, what: string): IndexRecord {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  if (
    buf.length !== INDEX_RECORD_BYTES ||
    buf.readUInt32LE(RECORD_CRC_AT) !== crc32c(buf.subarray(0, RECORD_CRC_AT))
  ) {
    throw new KisekiError(
      'KISEKI_E_CORRUPT',
      `index record for ${what} is damaged (checksum); rebuild the index from replicas`,
    );
  }
  const version = buf.readUInt8(0);
  if (version !== INDEX_RECORD_VERSION) {
    throw new KisekiError(
      'KISEKI_E_UNSUPPORTED',
      `index record for ${what} has version ${version}; upgrade kiseki-server`,
    );
  }
  return {
    lengthBytes: buf.readUInt32LE(4),
    offsetBytes: Number(buf.readBigUInt64LE(8)),
    crc32c: buf.readUInt32LE(16),
    createdAtMs: Number(buf.readBigUInt64LE(24)),
    lastTouchedMs: Number(buf.readBigUInt64LE(32)),
  };
}

export function indexKey(tenant: TenantId, chunkId: ChunkIdHex): Buffer {
  const t = Buffer.from(tenant, 'ascii');
  const k = Buffer.alloc(t.length + 1 + 32);
  t.copy(k, 0);
  k[t.length] = SEP;
  k.write(chunkId, t.length + 1, 'hex');
  return k;
}

export function decodeIndexKey(k: Uint8Array): { tenant: TenantId; chunkId: ChunkIdHex } {
  const buf = Buffer.from(k.buffer, k.byteOffset, k.byteLength);
  const sep = buf.length - 33;
  invariant(sep > 0 && buf[sep] === SEP, 'index key shape');
  return {
    tenant: buf.toString('ascii', 0, sep) as TenantId,
    chunkId: buf.toString('hex', sep + 1) as ChunkIdHex,
  };
}

/** The key range [start, end) holding exactly `tenant`'s chunks. */
export function tenantKeyRange(tenant: TenantId): { start: Buffer; end: Buffer } {
  return { start: Buffer.from(`${tenant}/`, 'ascii'), end: Buffer.from(`${tenant}0`, 'ascii') };
}
