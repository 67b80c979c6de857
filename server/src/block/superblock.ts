/**
 * The device superblock: the first bytes of block 0 of every Kiseki device (file or raw).
 * Pure codec, no I/O. Format version 1, little-endian, 64 bytes; the rest of block 0 is zero:
 *
 *   off len field
 *     0   8 magic            'KSKDEV01' (ASCII)
 *     8   4 version          u32 = 1
 *    12   4 block_size_bytes u32, a power of two in [512, 1 MiB]
 *    16   8 size_bytes       u64, a multiple of block_size_bytes
 *    24   8 data_start_bytes u64, first byte of the data area (block aligned, >= one block)
 *    32  16 device_uuid      16 raw bytes (RFC 4122 v4)
 *    48   8 created_at_ms    u64, wall clock at creation (informational)
 *    56   4 reserved         zero
 *    60   4 crc32c           CRC-32C of bytes [0, 60)
 *
 * A change to this layout is a new version and a new golden fixture (superblock.test.ts).
 */
import { crc32c } from '@kiseki/native';
import { invariant, KisekiError } from '@kiseki/proto';

export const SUPERBLOCK_MAGIC = 'KSKDEV01';
export const SUPERBLOCK_VERSION = 1;
export const SUPERBLOCK_BYTES = 64;
export const BLOCK_SIZE_BYTES_MIN = 512;
export const BLOCK_SIZE_BYTES_MAX = 1 << 20;

const MAGIC_BYTES = Buffer.from(SUPERBLOCK_MAGIC, 'ascii');
const CRC_OFFSET = 60;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface Superblock {
  readonly version: number;
  readonly blockSizeBytes: number;
  readonly sizeBytes: number;
  readonly dataStartBytes: number;
  /** Canonical lowercase 8-4-4-4-12 form. */
  readonly deviceUuid: string;
  readonly createdAtMs: number;
}

export function isValidBlockSize(blockSizeBytes: number): boolean {
  return (
    Number.isSafeInteger(blockSizeBytes) &&
    blockSizeBytes >= BLOCK_SIZE_BYTES_MIN &&
    blockSizeBytes <= BLOCK_SIZE_BYTES_MAX &&
    (blockSizeBytes & (blockSizeBytes - 1)) === 0
  );
}

/** Why `sb` is not a valid geometry, or undefined when it is. */
function geometryProblem(sb: Omit<Superblock, 'version' | 'deviceUuid' | 'createdAtMs'>): string | undefined {
  if (!isValidBlockSize(sb.blockSizeBytes))
    return `block size ${sb.blockSizeBytes} is not a power of two in [512, 1 MiB]`;
  if (!Number.isSafeInteger(sb.sizeBytes) || sb.sizeBytes % sb.blockSizeBytes !== 0)
    return `size ${sb.sizeBytes} is not a multiple of the block size ${sb.blockSizeBytes}`;
  if (
    !Number.isSafeInteger(sb.dataStartBytes) ||
    sb.dataStartBytes < sb.blockSizeBytes ||
    sb.dataStartBytes % sb.blockSizeBytes !== 0
  )
    return `data start ${sb.dataStartBytes} is not a block-aligned offset past the superblock`;
  if (sb.dataStartBytes >= sb.sizeBytes) return `size ${sb.sizeBytes} leaves no room for data`;
  return undefined;
}

/** Encodes a superblock. Invalid input is our bug: the caller validated it (assert). */
export function encodeSuperblock(sb: Superblock): Uint8Array {
  invariant(sb.version === SUPERBLOCK_VERSION, 'superblock version');
  const problem = geometryProblem(sb);
  invariant(problem === undefined, `superblock geometry: ${problem}`);
  invariant(UUID_RE.test(sb.deviceUuid), 'superblock device uuid form');
  invariant(Number.isSafeInteger(sb.createdAtMs) && sb.createdAtMs >= 0, 'superblock created_at_ms');
  const out = new Uint8Array(SUPERBLOCK_BYTES);
  const v = new DataView(out.buffer);
  out.set(MAGIC_BYTES, 0);
  v.setUint32(8, sb.version, true);
  v.setUint32(12, sb.blockSizeBytes, true);
  v.setBigUint64(16, BigInt(sb.sizeBytes), true);
  v.setBigUint64(24, BigInt(sb.dataStartBytes), true);
  out.set(Buffer.from(sb.deviceUuid.replaceAll('-', ''), 'hex'), 32);
  v.setBigUint64(48, BigInt(sb.createdAtMs), true);
  v.setUint32(CRC_OFFSET, crc32c(out.subarray(0, CRC_OFFSET)), true);
  return out;
}

/** True when `bytes` starts with the superblock magic (valid or not). */
export function hasSuperblockMagic(bytes: Uint8Array): boolean {
  return bytes.length >= MAGIC_BYTES.length && Buffer.from(bytes.subarray(0, 8)).equals(MAGIC_BYTES);
}

/**
 * Decodes and validates the superblock at the start of `bytes`.
 * Throws KisekiError: KISEKI_E_INVAL when there is no superblock at all (not a Kiseki device),
 * KISEKI_E_CORRUPT when the checksum or a field is wrong, KISEKI_E_UNSUPPORTED for a newer version.
 * `where` names the device in messages.
 */
export function decodeSuperblock(bytes: Uint8Array, where: string): Superblock {
  if (!hasSuperblockMagic(bytes) || bytes.length < SUPERBLOCK_BYTES) {
    throw new KisekiError(
      'KISEKI_E_INVAL',
      `${where} is not a Kiseki device: no ${SUPERBLOCK_MAGIC} superblock in block 0; create it with FileDevice.create`,
    );
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, SUPERBLOCK_BYTES);
  const stored = v.getUint32(CRC_OFFSET, true);
  const actual = crc32c(bytes.subarray(0, CRC_OFFSET));
  if (stored !== actual) {
    throw new KisekiError(
      'KISEKI_E_CORRUPT',
      `${where}: superblock checksum mismatch (stored ${hex32(stored)}, computed ${hex32(actual)}); the device header is damaged`,
    );
  }
  const version = v.getUint32(8, true);
  if (version !== SUPERBLOCK_VERSION) {
    throw new KisekiError(
      'KISEKI_E_UNSUPPORTED',
      `${where}: superblock version ${version} is not supported (this build reads version ${SUPERBLOCK_VERSION}); upgrade kiseki-server`,
    );
  }
  const sb: Superblock = {
    version,
    blockSizeBytes: v.getUint32(12, true),
    sizeBytes: safeU64(v, 16),
    dataStartBytes: safeU64(v, 24),
    deviceUuid: formatUuid(bytes.subarray(32, 48)),
    createdAtMs: safeU64(v, 48),
  };
  const problem = geometryProblem(sb);
  if (problem !== undefined) {
    throw new KisekiError('KISEKI_E_CORRUPT', `${where}: superblock has an impossible geometry: ${problem}`);
  }
  return sb;
}

function safeU64(v: DataView, at: number): number {
  const n = v.getBigUint64(at, true);
  return n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.NaN : Number(n);
}

function hex32(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

export function formatUuid(raw: Uint8Array): string {
  const h = Buffer.from(raw).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}
