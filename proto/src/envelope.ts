/**
 * Byte formats of sealed things, each defined once here and pinned by golden fixtures in
 * test/fixtures/. All integers little-endian. Sealing itself (keys, AES-GCM) lives in the
 * client; this module only frames and checks, so servers can validate without keys.
 *
 * Chunk envelope v1 (what chunk servers store and move; opaque ciphertext, I-K1/I-K2):
 *   0  magic 'KSKC'          4
 *   4  version = 1           u8
 *   5  alg = 1 (AES-256-GCM) u8
 *   6  flags = 0             u16
 *   8  tenant key epoch      u32
 *   12 system key epoch      u32
 *   16 chunk id              32   (also bound as AAD: I-K17)
 *   48 nonce                 12
 *   60 plaintext length      u32
 *   64 ciphertext            plaintext length
 *   .. GCM tag               16
 * The AAD of the AEAD is bytes [0, 64): every header field is authenticated.
 *
 * Sealed payload v1 (tenant-encrypted part of a delta, and sealed names; I-L7):
 *   0  magic 'KSKP' 4 | 4 version = 1 u8 | 5 alg = 1 u8 | 6 reserved u16 | 8 epoch u32
 *   12 nonce 12 | 24 ciphertext | tag 16
 * AAD = bytes [0, 24) followed by a caller-defined context (tenant, parent, name token).
 *
 * Delta envelope v1 (one log record's payload):
 *   0  magic 'KSKD' 4 | 4 version = 1 u8 | 5 reserved 3 | 8 header length u32
 *   12 payload length u32 | 16 header (protobuf kiseki.v1.DeltaHeader, system-visible)
 *   .. payload (a sealed payload v1, or empty)
 */
import { invariant, KisekiError } from './errors.ts';

export const CHUNK_MAGIC = 0x434b534b; // 'KSKC' read as u32 LE
export const PAYLOAD_MAGIC = 0x504b534b; // 'KSKP'
export const DELTA_MAGIC = 0x444b534b; // 'KSKD'
export const ALG_AES_256_GCM = 1;
export const CHUNK_HEADER_BYTES = 64;
export const PAYLOAD_HEADER_BYTES = 24;
export const DELTA_HEADER_BYTES = 16;
export const TAG_BYTES = 16;
export const NONCE_BYTES = 12;
export const CHUNK_ID_BYTES = 32;
/** Largest plaintext in one chunk. */
export const CHUNK_PLAINTEXT_BYTES_MAX = 16 * 1024 * 1024;
export const CHUNK_ENVELOPE_BYTES_MAX = CHUNK_PLAINTEXT_BYTES_MAX + CHUNK_HEADER_BYTES + TAG_BYTES;
export const DELTA_HEADER_BYTES_MAX = 1024 * 1024;
/** A sealed payload: room for a 64 KiB xattr value (Linux's XATTR_SIZE_MAX) with its name
 * and the seal's overhead. */
export const DELTA_PAYLOAD_BYTES_MAX = 64 * 1024 + 1024;

export interface ChunkEnvelopeHeader {
  readonly tenantEpoch: number;
  readonly systemEpoch: number;
  readonly chunkId: Uint8Array;
  readonly nonce: Uint8Array;
  readonly plaintextBytes: number;
}

export function chunkEnvelopeBytes(plaintextBytes: number): number {
  return CHUNK_HEADER_BYTES + plaintextBytes + TAG_BYTES;
}

/** Writes the 64-byte header into `out` (which must hold the whole envelope). */
export function writeChunkEnvelopeHeader(out: Buffer, h: ChunkEnvelopeHeader): void {
  invariant(h.chunkId.length === CHUNK_ID_BYTES, 'chunk id is 32 bytes');
  invariant(h.nonce.length === NONCE_BYTES, 'nonce is 12 bytes');
  invariant(out.length === chunkEnvelopeBytes(h.plaintextBytes), 'envelope buffer sized for its plaintext');
  out.writeUInt32LE(CHUNK_MAGIC, 0);
  out.writeUInt8(1, 4);
  out.writeUInt8(ALG_AES_256_GCM, 5);
  out.writeUInt16LE(0, 6);
  out.writeUInt32LE(h.tenantEpoch, 8);
  out.writeUInt32LE(h.systemEpoch, 12);
  out.set(h.chunkId, 16);
  out.set(h.nonce, 48);
  out.writeUInt32LE(h.plaintextBytes, 60);
}

/**
 * Parses and checks a chunk envelope's framing (not its tag: that needs keys). Throws
 * KISEKI_E_CORRUPT for anything that is not a well-formed v1 envelope of exactly this length.
 */
export function parseChunkEnvelope(buf: Uint8Array): ChunkEnvelopeHeader {
  if (buf.length < CHUNK_HEADER_BYTES + TAG_BYTES) {
    throw new KisekiError('KISEKI_E_CORRUPT', `chunk envelope too short (${buf.length} bytes)`);
  }
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.readUInt32LE(0) !== CHUNK_MAGIC) throw new KisekiError('KISEKI_E_CORRUPT', 'not a chunk envelope');
  const version = b.readUInt8(4);
  if (version !== 1) throw new KisekiError('KISEKI_E_CORRUPT', `unknown chunk envelope version ${version}`);
  if (b.readUInt8(5) !== ALG_AES_256_GCM) throw new KisekiError('KISEKI_E_CORRUPT', 'unknown chunk cipher');
  const plaintextBytes = b.readUInt32LE(60);
  if (plaintextBytes > CHUNK_PLAINTEXT_BYTES_MAX || b.length !== chunkEnvelopeBytes(plaintextBytes)) {
    throw new KisekiError('KISEKI_E_CORRUPT', 'chunk envelope length does not match its header');
  }
  return {
    tenantEpoch: b.readUInt32LE(8),
    systemEpoch: b.readUInt32LE(12),
    chunkId: b.subarray(16, 48),
    nonce: b.subarray(48, 60),
    plaintextBytes,
  };
}

export interface SealedPayloadHeader {
  readonly epoch: number;
  readonly nonce: Uint8Array;
}

export function writeSealedPayloadHeader(out: Buffer, epoch: number, nonce: Uint8Array): void {
  invariant(nonce.length === NONCE_BYTES, 'nonce is 12 bytes');
  out.writeUInt32LE(PAYLOAD_MAGIC, 0);
  out.writeUInt8(1, 4);
  out.writeUInt8(ALG_AES_256_GCM, 5);
  out.writeUInt16LE(0, 6);
  out.writeUInt32LE(epoch, 8);
  out.set(nonce, 12);
}

export function parseSealedPayload(buf: Uint8Array): SealedPayloadHeader {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < PAYLOAD_HEADER_BYTES + TAG_BYTES || b.readUInt32LE(0) !== PAYLOAD_MAGIC) {
    throw new KisekiError('KISEKI_E_CORRUPT', 'not a sealed payload');
  }
  if (b.readUInt8(4) !== 1 || b.readUInt8(5) !== ALG_AES_256_GCM) {
    throw new KisekiError('KISEKI_E_CORRUPT', `unknown sealed payload version ${b.readUInt8(4)}`);
  }
  return { epoch: b.readUInt32LE(8), nonce: b.subarray(12, 24) };
}

export interface DeltaEnvelope {
  /** protobuf kiseki.v1.DeltaHeader bytes: readable by the system. */
  readonly header: Uint8Array;
  /** sealed payload v1 bytes, or empty: readable only with the tenant's keys. */
  readonly payload: Uint8Array;
}

export function encodeDeltaEnvelope(d: DeltaEnvelope): Buffer {
  if (d.header.length > DELTA_HEADER_BYTES_MAX)
    throw new KisekiError('KISEKI_E_TOOBIG', 'delta header too large');
  if (d.payload.length > DELTA_PAYLOAD_BYTES_MAX)
    throw new KisekiError('KISEKI_E_TOOBIG', 'delta payload too large');
  if (d.payload.length > 0) parseSealedPayload(d.payload);
  const out = Buffer.alloc(DELTA_HEADER_BYTES + d.header.length + d.payload.length);
  out.writeUInt32LE(DELTA_MAGIC, 0);
  out.writeUInt8(1, 4);
  out.writeUInt32LE(d.header.length, 8);
  out.writeUInt32LE(d.payload.length, 12);
  out.set(d.header, DELTA_HEADER_BYTES);
  out.set(d.payload, DELTA_HEADER_BYTES + d.header.length);
  return out;
}

export function decodeDeltaEnvelope(buf: Uint8Array): DeltaEnvelope {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < DELTA_HEADER_BYTES || b.readUInt32LE(0) !== DELTA_MAGIC) {
    throw new KisekiError('KISEKI_E_CORRUPT', 'not a delta envelope');
  }
  if (b.readUInt8(4) !== 1)
    throw new KisekiError('KISEKI_E_CORRUPT', `unknown delta envelope version ${b.readUInt8(4)}`);
  const h = b.readUInt32LE(8);
  const p = b.readUInt32LE(12);
  if (DELTA_HEADER_BYTES + h + p !== b.length) {
    throw new KisekiError('KISEKI_E_CORRUPT', 'delta envelope lengths do not match');
  }
  return {
    header: b.subarray(DELTA_HEADER_BYTES, DELTA_HEADER_BYTES + h),
    payload: b.subarray(DELTA_HEADER_BYTES + h),
  };
}
